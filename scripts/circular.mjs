// `pnpm circular`: fails when a package's source has an import cycle. Type-only imports are
// skipped (they vanish at run time), as the Effect repositories check theirs.
import madge from "madge"

const roots = ["packages/sdk/src", "packages/engine/src", "packages/testing/src", "packages/proto/src", "packages/shared/src"]

const result = await madge(roots, {
  fileExtensions: ["ts"],
  detectiveOptions: { ts: { skipTypeImports: true }, tsx: { skipTypeImports: true } }
})
const cycles = result.circular()
if (cycles.length > 0) {
  console.error(`${cycles.length} import cycle(s):`)
  for (const cycle of cycles) console.error(`  ${cycle.join(" -> ")}`)
  process.exit(1)
}
console.log(`no import cycles in ${Object.keys(result.obj()).length} modules`)
