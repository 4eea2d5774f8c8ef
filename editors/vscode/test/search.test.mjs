// What "flowsight: Search code" shows (src/searchResults.ts, bundled by `npm run pretest`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Debouncer, describeFacts, searchRows, searchTitle } from "../dist/test/searchResults.mjs";

const answer = {
  query: "run sql",
  mode: "lexical",
  requestedMode: "hybrid",
  partial: true,
  vectorsPending: 12,
  notice: "answered from the lexical index while vectors computed for 3 of 15 chunks",
  results: [
    {
      uri: "file:///p/shop/db.py",
      range: { start: { line: 8, character: 0 }, end: { line: 12, character: 0 } },
      name: "find_user",
      qualifiedName: "shop.db.find_user",
      kind: "function",
      chunkId: "c1",
      score: 1.5,
      preview: "def find_user(name):",
      findings: 1,
      reaches: ["sql-injection"],
      readsInput: false,
    },
    {
      uri: "file:///p/shop/views.py",
      range: { start: { line: 3, character: 0 }, end: { line: 5, character: 0 } },
      name: "Shop",
      qualifiedName: "shop.views.Shop",
      kind: "class",
      chunkId: "c2",
      score: 0.5,
      preview: "class Shop:",
    },
  ],
};

test("each hit is a row: kind icon and name, path:line, facts and the header line", () => {
  const rows = searchRows(answer, (uri) => uri.replace("file:///p/", ""));
  assert.deepEqual(rows, [
    {
      label: "$(symbol-function) find_user",
      description: "shop/db.py:9",
      detail: "$(warning) 1 finding · reaches sql-injection  def find_user(name):",
      uri: "file:///p/shop/db.py",
      line: 8,
    },
    { label: "$(symbol-class) Shop", description: "shop/views.py:4", detail: "class Shop:", uri: "file:///p/shop/views.py", line: 3 },
  ]);
  assert.equal(describeFacts({ ...answer.results[0], findings: 2, readsInput: true }), "2 findings · reaches sql-injection · reads input");
});

test("the title names the answering mode and why an answer is partial", () => {
  assert.equal(searchTitle(undefined), "flowsight: Search code");
  assert.equal(searchTitle(answer), `flowsight: Search code (lexical) — ${answer.notice}`);
  assert.equal(searchTitle({ ...answer, mode: "hybrid", partial: false, notice: null }), "flowsight: Search code (hybrid)");
});

test("typing asks once the text settles, and only the newest answer is shown", async () => {
  const asked = [];
  const shown = [];
  const slow = new Map([["a", 80]]);
  const debouncer = new Debouncer(
    20,
    (value) => {
      asked.push(value);
      return new Promise((done) => setTimeout(() => done(`answer to ${value}`), slow.get(value) ?? 5));
    },
    (value, result) => shown.push([value, result]),
  );
  // "ab" typed quickly: only "ab" is asked.
  await Promise.all([debouncer.push("a"), debouncer.push("ab")]);
  assert.deepEqual(asked, ["ab"]);
  assert.deepEqual(shown, [["ab", "answer to ab"]]);
  // A slow answer to "a" arriving after "abc" was typed is dropped.
  const first = debouncer.push("a");
  await new Promise((done) => setTimeout(done, 40));
  await Promise.all([first, debouncer.push("abc")]);
  assert.deepEqual(asked, ["ab", "a", "abc"]);
  assert.deepEqual(shown, [["ab", "answer to ab"], ["abc", "answer to abc"]]);
});
