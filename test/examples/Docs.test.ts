/**
 * The source as a reader meets it: every export says what it is in a doc comment (an overloaded
 * function, once), and no type says `any`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

const root = path.resolve(import.meta.dirname, "../..")

const sources = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const at = path.join(dir, entry.name)
    return entry.isDirectory() ? sources(at) : at.endsWith(".ts") ? [at] : []
  })

const parsed = sources(path.join(root, "src")).map((file) =>
  ts.createSourceFile(path.relative(root, file), fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
)

const namesOf = (statement: ts.Statement): ReadonlyArray<string> =>
  ts.isVariableStatement(statement)
    ? statement.declarationList.declarations.map((declaration) => declaration.name.getText())
    : [(statement as ts.DeclarationStatement).name?.getText() ?? ts.SyntaxKind[statement.kind]]

describe("the source", () => {
  it("has a doc comment on every export", () => {
    const undocumented: Array<string> = []
    for (const file of parsed) {
      const documented = new Set<string>()
      for (const statement of file.statements) {
        if (ts.isExportDeclaration(statement) || ts.isExportAssignment(statement)) continue
        const exported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)
        if (exported !== true) continue
        const names = namesOf(statement)
        // an overloaded function is documented once, at its first signature
        if (ts.getJSDocCommentsAndTags(statement).length > 0) names.forEach((name) => documented.add(name))
        else if (!names.every((name) => documented.has(name))) undocumented.push(`${file.fileName}: ${names.join(", ")}`)
      }
    }
    expect(undocumented).toEqual([])
  })

  it("says `any` in no type", () => {
    const anys: Array<string> = []
    for (const file of parsed) {
      const visit = (node: ts.Node): void => {
        if (node.kind === ts.SyntaxKind.AnyKeyword) {
          anys.push(`${file.fileName}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`)
        }
        ts.forEachChild(node, visit)
      }
      visit(file)
    }
    expect(anys).toEqual([])
  })
})
