-- A real editor as the client: Neovim (Debian's 0.7.2) headless, started by
-- tests/test_neovim.py with FLOWSIGHT_PYTHON, FLOWSIGHT_ROOT and FLOWSIGHT_RESULT set.
local python = os.getenv("FLOWSIGHT_PYTHON")
local root = os.getenv("FLOWSIGHT_ROOT")
local result_path = os.getenv("FLOWSIGHT_RESULT")
local results = {}
local client_id

vim.api.nvim_create_autocmd("FileType", {
  pattern = "python",
  callback = function(args)
    client_id = client_id or vim.lsp.start_client({ name = "flowsight", cmd = { python, "-m", "flowsight", "serve" }, root_dir = root })
    vim.lsp.buf_attach_client(args.buf, client_id)
  end,
})

local function finish(code)
  local file = io.open(result_path, "w")
  file:write(vim.fn.json_encode(results))
  file:close()
  if code == 0 then vim.cmd("qall!") else vim.cmd("cquit " .. code) end
end

vim.api.nvim_create_autocmd("VimEnter", {
  callback = function()
    local buffer = vim.api.nvim_get_current_buf()
    local ok = vim.wait(20000, function() return #vim.diagnostic.get(buffer) == 2 end, 50)
    results.diagnostics = vim.tbl_map(function(d) return { line = d.lnum, message = d.message, code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code) } end, vim.diagnostic.get(buffer))
    if not ok then return finish(2) end
    local client = vim.lsp.get_client_by_id(client_id)
    local argument = { uri = vim.uri_from_bufnr(buffer), position = { line = 25, character = 4 }, direction = "backward", thin = false }
    local response = client.request_sync("workspace/executeCommand", { command = "flowsight.slice", arguments = { argument } }, 10000, buffer)
    results.slice_lines = {}
    for _, range in ipairs((response and response.result and response.result.files[argument.uri]) or {}) do
      table.insert(results.slice_lines, range.start.line)
    end
    -- Add a sanitiser: the command-injection diagnostic must go away.
    local line = vim.api.nvim_buf_get_lines(buffer, 25, 26, false)[1]
    results.edited_line = line
    vim.api.nvim_buf_set_lines(buffer, 25, 26, false, { (line:gsub('%+ name%)', '+ shlex.quote(name))')) })
    ok = vim.wait(20000, function() return #vim.diagnostic.get(buffer) == 1 end, 50)
    results.after_edit = vim.tbl_map(function(d) return { line = d.lnum, message = d.message } end, vim.diagnostic.get(buffer))
    finish(ok and 0 or 3)
  end,
})
