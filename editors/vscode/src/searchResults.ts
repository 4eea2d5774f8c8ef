// What "flowsight: Search code" shows for a `flowsight/search` answer, as plain functions (no
// `vscode` import: tested by node:test in test/search.test.mjs).

export interface SearchResultWire {
  uri: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  name: string;
  qualifiedName: string;
  kind: string;
  chunkId: string;
  score: number;
  preview?: string;
  findings?: number;
  reaches?: string[];
  readsInput?: boolean;
}

export interface SearchAnswerWire {
  query: string;
  mode: string;
  requestedMode?: string;
  partial?: boolean;
  vectorsPending?: number;
  notice?: string | null;
  results: SearchResultWire[];
}

export interface SearchRow {
  label: string;
  description: string;
  detail: string;
  uri: string;
  line: number;
}

const ICONS: Record<string, string> = {
  module: "symbol-file",
  class: "symbol-class",
  function: "symbol-function",
  method: "symbol-method",
  module_code: "symbol-namespace",
};

/** What the analysis knows of a hit, in words ("1 finding · reaches sql-injection · reads input"). */
export function describeFacts(result: SearchResultWire): string {
  const parts: string[] = [];
  const findings = result.findings ?? 0;
  if (findings > 0) parts.push(`${findings} finding${findings === 1 ? "" : "s"}`);
  if (result.reaches && result.reaches.length > 0) parts.push(`reaches ${result.reaches.join(", ")}`);
  if (result.readsInput) parts.push("reads input");
  return parts.join(" · ");
}

/**
 * One quick-pick row per hit: the name with its kind's icon, `path:line` (path relative to the
 * workspace through `relative`), and the chunk's header line plus the analysis's facts.
 */
export function searchRows(answer: SearchAnswerWire, relative: (uri: string) => string): SearchRow[] {
  return answer.results.map((result) => {
    const line = result.range.start.line;
    const facts = describeFacts(result);
    const detail = [facts ? `$(warning) ${facts}` : "", result.preview ?? ""].filter((part) => part !== "").join("  ");
    return {
      label: `$(${ICONS[result.kind] ?? "symbol-misc"}) ${result.name}`,
      description: `${relative(result.uri)}:${line + 1}`,
      detail,
      uri: result.uri,
      line,
    };
  });
}

/** The quick pick's title: the mode that answered, and why the answer is partial if it is. */
export function searchTitle(answer: SearchAnswerWire | undefined): string {
  if (!answer) return "flowsight: Search code";
  const pending = answer.partial && answer.notice ? ` — ${answer.notice}` : "";
  return `flowsight: Search code (${answer.mode})${pending}`;
}

/**
 * Runs `search` for the newest value only: each call waits `delay` ms and is dropped if another
 * value arrived meanwhile, and an answer to an older value is never delivered.
 */
export class Debouncer<T> {
  private generation = 0;
  constructor(
    private readonly delay: number,
    private readonly search: (value: string) => Promise<T>,
    private readonly deliver: (value: string, answer: T) => void,
    private readonly failed: (error: unknown) => void = () => {},
  ) {}

  async push(value: string): Promise<void> {
    const generation = ++this.generation;
    await new Promise((done) => setTimeout(done, this.delay));
    if (generation !== this.generation) return;
    try {
      const answer = await this.search(value);
      if (generation === this.generation) this.deliver(value, answer);
    } catch (error) {
      if (generation === this.generation) this.failed(error);
    }
  }

  cancel(): void {
    this.generation += 1;
  }
}
