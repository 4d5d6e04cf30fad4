#!/usr/bin/env node
// `pnpm lint` / `pnpm lint-fix`: eslint (with dprint formatting, see eslint.config.mjs) over the
// workspace, one line per group of files as it goes. Results are cached in
// node_modules/.cache/eslint (by file content), so an unchanged file is not linted again.
import { ESLint } from "eslint"
import path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const fix = process.argv.includes("--fix")
const groups = [
  ["packages/shared", ["packages/shared"]],
  ["packages/proto", ["packages/proto"]],
  ["packages/sdk", ["packages/sdk"]],
  ["packages/engine", ["packages/engine"]],
  ["packages/testing", ["packages/testing"]],
  ["examples, scripts, root", ["examples", "scripts", "*.ts", "*.mjs"]]
]

const options = {
  cwd: root,
  // not when fixing: a fixed file would keep the result of its content before the fix
  cache: !fix,
  cacheLocation: path.join(root, "node_modules/.cache/eslint/"),
  cacheStrategy: "content",
  errorOnUnmatchedPattern: false
}
const dprint = (message) => message.ruleId === "@effect/dprint"
// Fixing takes two passes: the other rules' fixes, then dprint's alone. In one pass the fixes of
// both (import/first or consistent-type-imports moving imports, dprint sorting them) can land in
// the same run and drop or duplicate an import.
const rulesFirst = new ESLint({ ...options, fix: (message) => !dprint(message) })
const eslint = new ESLint({ ...options, fix: fix ? dprint : false })
const formatter = await eslint.loadFormatter("stylish")
const started = Date.now()
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)}s`
let errors = 0
let warnings = 0
for (const [name, patterns] of groups) {
  const since = Date.now()
  let fixedFirst = new Set()
  if (fix) {
    const first = await rulesFirst.lintFiles(patterns)
    await ESLint.outputFixes(first)
    fixedFirst = new Set(first.filter((r) => r.output !== undefined).map((r) => r.filePath))
  }
  const results = await eslint.lintFiles(patterns)
  if (fix) await ESLint.outputFixes(results)
  const groupErrors = results.reduce((n, r) => n + r.errorCount, 0)
  const groupWarnings = results.reduce((n, r) => n + r.warningCount, 0)
  errors += groupErrors
  warnings += groupWarnings
  const fixed = fix ? `, ${results.filter((r) => r.output !== undefined || fixedFirst.has(r.filePath)).length} fixed` : ""
  console.log(
    `lint: ${name}: ${results.length} files${fixed}, ${groupErrors} errors, ${groupWarnings} warnings in ${seconds(since)}`
  )
  const text = await formatter.format(results.filter((r) => r.errorCount + r.warningCount > 0))
  if (text !== "") console.log(text)
}
console.log(`lint: ${errors === 0 ? "done" : "failed"} (${errors} errors, ${warnings} warnings) in ${seconds(started)}`)
if (errors > 0 && !fix) console.log("lint: `pnpm lint-fix` fixes the formatting and what else it can")
process.exit(errors === 0 ? 0 : 1)
