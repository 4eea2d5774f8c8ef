// "flowsight: Search code": a quick pick that asks the server (`flowsight/search`) as the user
// types (debounced; answers to older text dropped), shows name, path:line, the chunk's header
// line and what the analysis knows, and opens the chunk on accept. The server answers from the
// lexical index while vectors are still being computed; the title says so.
import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";
import { Debouncer, SearchAnswerWire, SearchRow, searchRows, searchTitle } from "./searchResults";

const DEBOUNCE_MS = 150;
const LIMIT = 50;

interface Item extends vscode.QuickPickItem {
  row: SearchRow;
}

export async function searchCode(client: LanguageClient | undefined, log: vscode.LogOutputChannel): Promise<void> {
  if (!client || !client.isRunning()) {
    void vscode.window.showWarningMessage("flowsight: the server is not running; code search needs it.");
    return;
  }
  const mode = vscode.workspace.getConfiguration("flowsight").get<string>("search.mode", "hybrid");
  const pick = vscode.window.createQuickPick<Item>();
  pick.title = searchTitle(undefined);
  pick.placeholder = "Search code: names, words, or what it does (\"where do we build SQL from user input\")";
  pick.matchOnDescription = false;
  pick.matchOnDetail = false;
  const search = new Debouncer<SearchAnswerWire>(
    DEBOUNCE_MS,
    (query) => client.sendRequest<SearchAnswerWire>("flowsight/search", { query, mode, limit: LIMIT }),
    (_query, answer) => {
      pick.busy = false;
      pick.title = searchTitle(answer);
      // alwaysShow: the server ranked them; VS Code must not filter them again by label.
      pick.items = searchRows(answer, (uri) => vscode.workspace.asRelativePath(vscode.Uri.parse(uri))).map((row) => ({
        label: row.label,
        description: row.description,
        detail: row.detail,
        alwaysShow: true,
        row,
      }));
    },
    (error) => {
      pick.busy = false;
      log.warn(`code search failed: ${error instanceof Error ? error.message : String(error)}`);
    },
  );
  pick.onDidChangeValue((value) => {
    if (value.trim() === "") {
      search.cancel();
      pick.busy = false;
      pick.items = [];
      pick.title = searchTitle(undefined);
      return;
    }
    pick.busy = true;
    void search.push(value);
  });
  pick.onDidAccept(async () => {
    const item = pick.selectedItems[0] ?? pick.activeItems[0];
    if (!item) return;
    pick.hide();
    const position = new vscode.Position(item.row.line, 0);
    await vscode.window.showTextDocument(vscode.Uri.parse(item.row.uri), { selection: new vscode.Range(position, position) });
  });
  pick.onDidHide(() => {
    search.cancel();
    pick.dispose();
  });
  pick.show();
}
