-- flowsight for Neovim 0.7 and later. Put this file on your runtimepath as lua/flowsight.lua
-- (e.g. ~/.config/nvim/lua/flowsight.lua) and call `require("flowsight").setup()` from init.lua;
-- see README.md beside it for the 0.11+ and 0.7–0.10 setups and the commands.
--
-- What it does:
-- - starts `flowsight serve` per project root, found from the buffer's path (the nearest
--   directory above it holding pyproject.toml, setup.cfg, setup.py or .git, never $HOME or /;
--   without one, the directory holding the file's outermost package), not from the cwd;
-- - :FlowsightSlice [forward] [thin] — the slice of the code under the cursor, highlighted
--   (group FlowsightSlice, plus a sign) in every buffer of a slice file, including buffers
--   opened later; cleared by :FlowsightSliceClear or by any edit of a highlighted buffer;
-- - :FlowsightPath[!] — the steps of the taint path of the finding under the cursor, in order,
--   into the window's location list (with !, the quickfix list);
-- - :FlowsightSearch[!] [lexical|hybrid|vector|symbols] {query} — code search over the project
--   (the `flowsight/search` request) into the quickfix list, best first (with !, the window's
--   location list); each item says what the analysis knows (findings, sink kinds, input read);
-- - the server's code actions "slice from here" and "Show taint path" do the same.
local M = {}

M.markers = { "pyproject.toml", "setup.cfg", "setup.py", ".git" }

local uv = vim.uv or vim.loop
local has_011 = vim.fn.has("nvim-0.11") == 1
local namespace = vim.api.nvim_create_namespace("flowsight-slice")

-- The current slice: file name → 0-based lines; `generation` tells stale buffer watchers apart;
-- `watched`: buffer → the generation its edit watcher belongs to.
local slice = { files = {}, generation = 0, watched = {} }
-- 0.7–0.10: client ids by project root.
local clients = {}

local function exists(path)
  return uv.fs_stat(path) ~= nil
end

local function parent(directory)
  local up = vim.fn.fnamemodify(directory, ":h")
  if up == directory then return nil end
  return up
end

--- The project root of a file: the nearest directory above it holding one of `M.markers`
--- (never the home directory or /); else the directory holding the file's outermost package
--- (the highest run of directories with __init__.py); else the file's directory.
function M.find_root(path)
  local start = vim.fn.fnamemodify(path, ":p:h")
  local home = uv.os_homedir()
  local directory = start
  while directory do
    if directory ~= home and directory ~= "/" then
      for _, marker in ipairs(M.markers) do
        if exists(directory .. "/" .. marker) then return directory end
      end
    end
    directory = parent(directory)
  end
  local root = start
  while exists(root .. "/__init__.py") and parent(root) do
    root = parent(root)
  end
  return root
end

local function client_for(buffer)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = buffer, name = "flowsight" })[1]
  end
  for _, client in pairs(vim.lsp.buf_get_clients(buffer)) do
    if client.name == "flowsight" then return client end
  end
  return nil
end

-- Client methods are called with `:` from 0.11 on, with `.` before.
local function request(client, method, params, handler, buffer)
  if has_011 then return client:request(method, params, handler, buffer) end
  return client.request(method, params, handler, buffer)
end

local function execute(client, command, argument, buffer, callback)
  return request(client, "workspace/executeCommand", { command = command, arguments = { argument } }, function(err, result)
    if err then
      vim.notify("flowsight: " .. (err.message or tostring(err)), vim.log.levels.WARN)
      return
    end
    callback(result)
  end, buffer)
end

-- LSP character ↔ byte column of one line, in the client's position encoding.
local function to_character(text, column, encoding)
  if encoding == "utf-8" then return column end
  if has_011 then return vim.str_utfindex(text, encoding, column, false) end
  local utf32, utf16 = vim.str_utfindex(text, math.min(column, #text))
  return encoding == "utf-16" and utf16 or utf32
end

local function to_column(text, character, encoding)
  if encoding == "utf-8" then return math.min(character, #text) end
  if has_011 then return vim.str_byteindex(text, encoding, character, false) end
  local ok, column = pcall(vim.str_byteindex, text, character, encoding == "utf-16")
  return ok and column or #text
end

-- A file name as the server and Neovim can both spell it (symbolic links resolved).
local function normalise(file)
  return uv.fs_realpath(file) or vim.fn.fnamemodify(file, ":p")
end

local function loaded_buffer(file)
  local wanted = normalise(file)
  for _, buffer in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buffer) and normalise(vim.api.nvim_buf_get_name(buffer)) == wanted then return buffer end
  end
  return nil
end

local function line_text(file, line)
  local buffer = loaded_buffer(file)
  if buffer then return vim.api.nvim_buf_get_lines(buffer, line, line + 1, false)[1] or "" end
  local ok, lines = pcall(vim.fn.readfile, file, "", line + 1)
  return ok and lines[line + 1] or ""
end

local function cursor_position(client)
  local row, column = unpack(vim.api.nvim_win_get_cursor(0))
  local text = vim.api.nvim_get_current_line()
  return { line = row - 1, character = to_character(text, column, client.offset_encoding or "utf-16") }
end

-- ---------------------------------------------------------------- slices

local function paint(buffer)
  local lines = slice.files[normalise(vim.api.nvim_buf_get_name(buffer))]
  if not lines or not vim.api.nvim_buf_is_loaded(buffer) then return end
  vim.api.nvim_buf_clear_namespace(buffer, namespace, 0, -1)
  local count = vim.api.nvim_buf_line_count(buffer)
  for _, line in ipairs(lines) do
    if line < count then
      vim.api.nvim_buf_set_extmark(buffer, namespace, line, 0, {
        line_hl_group = "FlowsightSlice",
        sign_text = M.options.slice_sign or nil,
        sign_hl_group = M.options.slice_sign and "FlowsightSliceSign" or nil,
      })
    end
  end
  -- Any edit makes the slice stale: clear it everywhere (a watcher of an older slice detaches).
  local generation = slice.generation
  if slice.watched[buffer] == generation then return end
  slice.watched[buffer] = generation
  vim.api.nvim_buf_attach(buffer, false, {
    on_lines = function()
      if slice.generation == generation then vim.schedule(M.clear_slice) end
      return true
    end,
  })
end

--- Removes the slice highlights from every buffer.
function M.clear_slice()
  slice.generation = slice.generation + 1
  slice.files = {}
  for _, buffer in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buffer) then vim.api.nvim_buf_clear_namespace(buffer, namespace, 0, -1) end
  end
end

--- Shows a `flowsight.slice` result: highlights its lines in every loaded buffer of a slice
--- file (and in buffers of slice files read later, until cleared).
function M.show_slice(result, direction)
  M.clear_slice()
  local lines, files = 0, 0
  for uri, ranges in pairs(result.files or {}) do
    local list = {}
    for _, range in ipairs(ranges) do
      for line = range.start.line, range["end"].line do
        table.insert(list, line)
      end
    end
    slice.files[normalise(vim.uri_to_fname(uri))] = list
    lines, files = lines + #list, files + 1
  end
  for _, buffer in ipairs(vim.api.nvim_list_bufs()) do
    paint(buffer)
  end
  vim.notify(string.format("flowsight: %s slice, %d lines in %d files", direction, lines, files))
end

local function run_slice(client, argument, buffer)
  execute(client, "flowsight.slice", argument, buffer, function(result)
    M.show_slice(result, argument.direction or "backward")
  end)
end

--- :FlowsightSlice [forward] [thin]
function M.slice(arguments)
  local buffer = vim.api.nvim_get_current_buf()
  local client = client_for(buffer)
  if not client then
    vim.notify("flowsight: no flowsight server for this buffer", vim.log.levels.WARN)
    return
  end
  local direction, thin = "backward", false
  for _, word in ipairs(arguments or {}) do
    if word == "forward" then direction = "forward" end
    if word == "thin" then thin = true end
  end
  run_slice(client, { uri = vim.uri_from_bufnr(buffer), position = cursor_position(client), direction = direction, thin = thin }, buffer)
end

-- ---------------------------------------------------------------- taint paths

-- The flowsight finding (id, message) of the diagnostic under the cursor, else the first on the line.
local function finding_under_cursor(buffer)
  local row, column = unpack(vim.api.nvim_win_get_cursor(0))
  local best
  for _, diagnostic in ipairs(vim.diagnostic.get(buffer, { lnum = row - 1 })) do
    local lsp = diagnostic.user_data and diagnostic.user_data.lsp or {}
    local id = lsp.data and lsp.data.findingId
    if diagnostic.source == "flowsight" and id then
      local inside = diagnostic.col <= column and (diagnostic.end_col or diagnostic.col) >= column
      if not best or (inside and not best.inside) then best = { id = id, message = diagnostic.message, inside = inside } end
    end
  end
  return best
end

--- The steps of a path (`flowsight.explainTaint`'s) as quickfix items, in path order.
function M.path_items(steps, encoding)
  local items = {}
  for number, step in ipairs(steps) do
    local file = vim.uri_to_fname(step.uri)
    local start = step.range.start
    table.insert(items, {
      filename = file,
      lnum = start.line + 1,
      col = to_column(line_text(file, start.line), start.character, encoding) + 1,
      text = string.format("%d. %s: %s", number, step.kind, step.description),
    })
  end
  return items
end

local function show_path(client, finding_id, buffer, window, quickfix, message)
  execute(client, "flowsight.explainTaint", finding_id, buffer, function(result)
    local items = M.path_items(result.steps or {}, client.offset_encoding or "utf-16")
    local title = "flowsight: " .. (result.message or message or "")
    if quickfix then
      vim.fn.setqflist({}, " ", { title = title, items = items })
      vim.cmd("copen")
    else
      vim.fn.setloclist(window, {}, " ", { title = title, items = items })
      vim.cmd("lopen")
    end
    vim.cmd("wincmd p")
  end)
end

--- :FlowsightPath[!] — the steps of the finding under the cursor into the location list (the
--- quickfix list with !), then opens the list.
function M.path(quickfix)
  local buffer = vim.api.nvim_get_current_buf()
  local client = client_for(buffer)
  local finding = finding_under_cursor(buffer)
  if not client or not finding then
    vim.notify("flowsight: no taint finding on this line", vim.log.levels.INFO)
    return
  end
  show_path(client, finding.id, buffer, vim.api.nvim_get_current_win(), quickfix, finding.message)
end

-- ---------------------------------------------------------------- code search

M.search_modes = { lexical = true, hybrid = true, vector = true, symbols = true }

--- The words of :FlowsightSearch as (query, mode): a first word naming a mode is the mode when
--- more words follow ("hybrid send email"); the mode is "lexical" otherwise.
function M.search_arguments(words)
  local mode = "lexical"
  if #words > 1 and M.search_modes[words[1]] then
    mode = words[1]
    words = vim.list_slice(words, 2)
  end
  return table.concat(words, " "), mode
end

--- A `flowsight/search` answer as quickfix items: file, line, and "kind name — facts: preview".
function M.search_items(result)
  local items = {}
  for _, hit in ipairs(result.results or {}) do
    local file = vim.uri_to_fname(hit.uri)
    local line = hit.range.start.line
    local facts = {}
    if (hit.findings or 0) > 0 then table.insert(facts, hit.findings .. (hit.findings == 1 and " finding" or " findings")) end
    if hit.reaches and #hit.reaches > 0 then table.insert(facts, "reaches " .. table.concat(hit.reaches, ", ")) end
    if hit.readsInput then table.insert(facts, "reads input") end
    local preview = vim.trim(line_text(file, line))
    local text = hit.kind .. " " .. hit.qualifiedName
    if #facts > 0 then text = text .. " [" .. table.concat(facts, "; ") .. "]" end
    if preview ~= "" then text = text .. ": " .. preview end
    table.insert(items, { filename = file, lnum = line + 1, col = 1, text = text })
  end
  return items
end

local function any_client()
  if vim.lsp.get_clients then return vim.lsp.get_clients({ name = "flowsight" })[1] end
  for _, client in pairs(vim.lsp.get_active_clients()) do
    if client.name == "flowsight" then return client end
  end
  return nil
end

--- :FlowsightSearch[!] [mode] {query} — the results into the quickfix list (with !, the
--- location list of the current window), then opens it. A partial answer (vectors still being
--- computed: answered from the lexical index) says so in the list's title.
function M.search(words, loclist)
  local query, mode = M.search_arguments(words or {})
  if query == "" then
    vim.notify("flowsight: :FlowsightSearch [lexical|hybrid|vector|symbols] {query}", vim.log.levels.WARN)
    return
  end
  local buffer = vim.api.nvim_get_current_buf()
  local client = client_for(buffer) or any_client()
  if not client then
    vim.notify("flowsight: no flowsight server running", vim.log.levels.WARN)
    return
  end
  local window = vim.api.nvim_get_current_win()
  request(client, "flowsight/search", { query = query, mode = mode, limit = M.options.search_limit or 50 }, function(err, result)
    if err then
      vim.notify("flowsight: " .. (err.message or tostring(err)), vim.log.levels.WARN)
      return
    end
    local items = M.search_items(result)
    local title = string.format("flowsight search (%s): %s", result.mode, query)
    if result.partial and result.notice then title = title .. " — " .. result.notice end
    if loclist then
      vim.fn.setloclist(window, {}, " ", { title = title, items = items })
      vim.cmd("lopen")
    else
      vim.fn.setqflist({}, " ", { title = title, items = items })
      vim.cmd("copen")
    end
    if #items == 0 then vim.notify("flowsight: no results for " .. query, vim.log.levels.INFO) end
  end, buffer)
end

-- The server's code actions run commands; these run them in Neovim instead, so that "Backward
-- slice from here" highlights the slice (the server would only move the selection) and "Show
-- taint path" fills the location list (the server's answer would be dropped).
local client_commands = {
  ["flowsight.showSlice"] = function(command, context)
    local client = vim.lsp.get_client_by_id(context.client_id)
    if client and command.arguments and command.arguments[1] then run_slice(client, command.arguments[1], context.bufnr) end
  end,
  ["flowsight.explainTaint"] = function(command, context)
    local client = vim.lsp.get_client_by_id(context.client_id)
    if client and command.arguments and command.arguments[1] then
      show_path(client, command.arguments[1], context.bufnr, vim.api.nvim_get_current_win(), false)
    end
  end,
}

-- ---------------------------------------------------------------- the server

--- The client configuration: for `vim.lsp.config("flowsight", …)` on 0.11+, and what
--- `setup` starts on 0.7–0.10. Settings go as initializationOptions (0.7 has no
--- workspace/configuration) and as the `flowsight` section.
function M.lsp_config(options)
  options = options or {}
  local settings = options.settings
  -- An empty Lua table would be sent as a JSON array.
  if settings == nil or next(settings) == nil then settings = vim.empty_dict() end
  return {
    name = "flowsight",
    cmd = options.cmd or { "flowsight", "serve" },
    filetypes = { "python" },
    root_dir = function(buffer, on_dir)
      local file = vim.api.nvim_buf_get_name(buffer)
      if file ~= "" and vim.bo[buffer].buftype == "" then on_dir(M.find_root(file)) end
    end,
    init_options = settings,
    settings = { flowsight = settings },
    commands = client_commands,
  }
end

-- 0.7–0.10: one client per root, attached to every Python buffer under it.
local function attach(buffer)
  local file = vim.api.nvim_buf_get_name(buffer)
  if file == "" or vim.bo[buffer].buftype ~= "" then return end
  local root = M.find_root(file)
  if not clients[root] or not vim.lsp.get_client_by_id(clients[root]) then
    local config = M.lsp_config(M.options)
    config.root_dir = root
    config.filetypes = nil
    config.workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") } }
    clients[root] = vim.lsp.start_client(config)
  end
  if clients[root] then vim.lsp.buf_attach_client(buffer, clients[root]) end
end

local function define_commands()
  vim.cmd("highlight default link FlowsightSlice DiffChange")
  vim.cmd("highlight default link FlowsightSliceSign DiffChange")
  vim.api.nvim_create_user_command("FlowsightSlice", function(command)
    M.slice(command.fargs)
  end, {
    nargs = "*",
    complete = function() return { "forward", "thin" } end,
    desc = "flowsight: highlight the slice of the code under the cursor",
  })
  vim.api.nvim_create_user_command("FlowsightSliceClear", function()
    M.clear_slice()
  end, { desc = "flowsight: clear the slice highlights" })
  vim.api.nvim_create_user_command("FlowsightPath", function(command)
    M.path(command.bang)
  end, { bang = true, desc = "flowsight: the taint path of the finding under the cursor into the location (!: quickfix) list" })
  vim.api.nvim_create_user_command("FlowsightSearch", function(command)
    M.search(command.fargs, command.bang)
  end, {
    nargs = "+",
    bang = true,
    complete = function(lead, line)
      if #vim.split(line, "%s+") > 2 then return {} end
      return vim.tbl_filter(function(mode) return mode:find(lead, 1, true) == 1 end, { "lexical", "hybrid", "vector", "symbols" })
    end,
    desc = "flowsight: code search into the quickfix (!: location) list",
  })
  local group = vim.api.nvim_create_augroup("flowsight-slice", { clear = true })
  vim.api.nvim_create_autocmd("BufWinEnter", {
    group = group,
    callback = function(args)
      paint(args.buf)
    end,
  })
end

--- options: `cmd` (default {"flowsight", "serve"}), `settings` (the server's settings, see the
--- main README), `slice_sign` (sign text of slice lines, default "┃"; false for none),
--- `lsp_enable` (0.11+: false to leave `vim.lsp.config`/`vim.lsp.enable` to you),
--- `search_limit` (results of :FlowsightSearch, default 50).
function M.setup(options)
  M.options = vim.tbl_extend("force", { slice_sign = "┃" }, options or {})
  define_commands()
  if vim.lsp.config and vim.lsp.enable then
    if M.options.lsp_enable ~= false then
      vim.lsp.config("flowsight", M.lsp_config(M.options))
      vim.lsp.enable("flowsight")
    end
    return
  end
  vim.api.nvim_create_autocmd("FileType", {
    group = vim.api.nvim_create_augroup("flowsight", { clear = true }),
    pattern = "python",
    callback = function(args)
      attach(args.buf)
    end,
  })
  for _, buffer in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buffer) and vim.bo[buffer].filetype == "python" then attach(buffer) end
  end
end

M.options = { slice_sign = "┃" }

return M
