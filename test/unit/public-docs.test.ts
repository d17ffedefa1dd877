// Every export of the package entry point carries TSDoc with an @example: walks the re-export graph
// of src/index.ts syntactically (no type checking, so it stays fast) and lists what lacks one.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "../..");

interface Declared {
  file: string;
  line: number;
  hasExample: boolean;
}

const parsed = new Map<string, ts.SourceFile>();
function source(file: string): ts.SourceFile {
  let sf = parsed.get(file);
  if (!sf) {
    sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    parsed.set(file, sf);
  }
  return sf;
}

function hasExportModifier(node: ts.Node): boolean {
  return (
    ts.canHaveModifiers(node) &&
    (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
  );
}

function declaredNames(node: ts.Statement): string[] {
  if (ts.isVariableStatement(node)) {
    return node.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []));
  }
  if (
    (ts.isFunctionDeclaration(node) ||
      ts.isClassDeclaration(node) ||
      ts.isInterfaceDeclaration(node) ||
      ts.isTypeAliasDeclaration(node) ||
      ts.isEnumDeclaration(node)) &&
    node.name
  ) {
    return [node.name.text];
  }
  return [];
}

/** Exported names of `file` with where they are declared; a name declared twice (const + type) needs one example. */
function exportsOf(file: string, seen = new Set<string>()): Map<string, Declared> {
  const out = new Map<string, Declared>();
  if (seen.has(file)) return out;
  seen.add(file);
  const sf = source(file);
  const local = new Map<string, Declared>();
  for (const st of sf.statements) {
    for (const name of declaredNames(st)) {
      const hasExample = ts
        .getJSDocTags(ts.isVariableStatement(st) ? st.declarationList.declarations[0]! : st)
        .some((t) => t.tagName.text === "example");
      const line = sf.getLineAndCharacterOfPosition(st.getStart()).line + 1;
      const prev = local.get(name);
      local.set(name, {
        file,
        line: prev?.line ?? line,
        hasExample: (prev?.hasExample ?? false) || hasExample,
      });
      if (hasExportModifier(st)) out.set(name, local.get(name)!);
    }
  }
  for (const st of sf.statements) {
    if (!ts.isExportDeclaration(st)) continue;
    const target =
      st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)
        ? resolve(dirname(file), st.moduleSpecifier.text)
        : undefined;
    const from = target ? exportsOf(target, seen) : local;
    if (!st.exportClause) {
      for (const [name, d] of from) out.set(name, d);
      continue;
    }
    if (!ts.isNamedExports(st.exportClause)) continue;
    for (const el of st.exportClause.elements) {
      const d = from.get((el.propertyName ?? el.name).text);
      if (d) out.set(el.name.text, d);
    }
  }
  seen.delete(file);
  return out;
}

void describe("public API documentation", () => {
  void it("gives every export of the package an @example in its TSDoc", () => {
    const exported = exportsOf(join(ROOT, "src/index.ts"));
    assert.ok(exported.size > 200, `found only ${exported.size} exports; the walk of src/index.ts is broken`);
    const missing = [...exported]
      .filter(([, d]) => !d.hasExample)
      .map(([name, d]) => `${relative(ROOT, d.file)}:${d.line} ${name}`)
      .sort();
    assert.deepEqual(missing, [], `exports without an @example:\n${missing.join("\n")}`);
  });
});
