// The part of the Python extension's API flowsight uses (environments), answering with the
// interpreter the e2e test selected.
const vscode = require("vscode");

exports.activate = function activate() {
  const selected = process.env.FLOWSIGHT_E2E_SELECTED_PYTHON ?? "python3";
  const changed = new vscode.EventEmitter();
  return {
    environments: {
      getActiveEnvironmentPath: () => ({ id: selected, path: selected }),
      resolveEnvironment: async (environment) => ({ executable: { uri: vscode.Uri.file(environment.path) } }),
      onDidChangeActiveEnvironmentPath: changed.event,
    },
  };
};
