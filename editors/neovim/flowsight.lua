-- flowsight for Neovim (0.7 and later): put this file on your runtimepath (e.g. in
-- ~/.config/nvim/lua/) and `require("flowsight").setup()` from init.lua.
-- Needs `flowsight` on PATH (pip install the project, or point `cmd` at a virtualenv).
local M = {}

function M.setup(options)
  options = options or {}
  local cmd = options.cmd or { "flowsight", "serve" }
  vim.api.nvim_create_autocmd("FileType", {
    pattern = "python",
    callback = function(args)
      local root = vim.fs and vim.fs.dirname(vim.fs.find({ "pyproject.toml", ".git" }, { upward = true })[1] or "")
        or vim.fn.getcwd()
      if root == nil or root == "" then root = vim.fn.getcwd() end
      M.client = M.client or vim.lsp.start_client({
        name = "flowsight",
        cmd = cmd,
        root_dir = root,
        init_options = options.settings or {},
      })
      if M.client then vim.lsp.buf_attach_client(args.buf, M.client) end
    end,
  })
  -- :FlowsightSlice [forward] highlights the slice of the code under the cursor.
  vim.api.nvim_create_user_command("FlowsightSlice", function(command)
    local client = vim.lsp.get_client_by_id(M.client)
    if not client then return end
    local position = vim.api.nvim_win_get_cursor(0)
    local argument = {
      uri = vim.uri_from_bufnr(0),
      position = { line = position[1] - 1, character = position[2] },
      direction = command.args == "forward" and "forward" or "backward",
      thin = false,
    }
    local response = client.request_sync("workspace/executeCommand", { command = "flowsight.slice", arguments = { argument } }, 5000, 0)
    if not response or not response.result then return end
    local namespace = vim.api.nvim_create_namespace("flowsight-slice")
    vim.api.nvim_buf_clear_namespace(0, namespace, 0, -1)
    for _, range in ipairs(response.result.files[argument.uri] or {}) do
      vim.api.nvim_buf_add_highlight(0, namespace, "Visual", range.start.line, 0, -1)
    end
  end, { nargs = "?" })
end

return M
