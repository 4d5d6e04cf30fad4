/**
 * Status messages fit for a `grpc-message` trailer: bounded once percent-encoded (as grpc-js
 * writes them), cut at a code point with a note, lone surrogates replaced.
 */
import { describe, expect, it } from "@effect/vitest"
import { boundStatusMessage, maxStatusMessageBytes } from "../src/internal/grpc/bridge.js"

const encoded = (message: string) => encodeURI(message).length

describe("boundStatusMessage", () => {
  it("keeps a message that fits, whatever its characters", () => {
    expect(boundStatusMessage("workflow names not found: nope")).toBe("workflow names not found: nope")
    const fits = `${"a".repeat(maxStatusMessageBytes - 100)}`
    expect(boundStatusMessage(fits)).toBe(fits)
    // 4,096 ASCII characters that encodeURI keeps are exactly the limit
    expect(boundStatusMessage("a".repeat(maxStatusMessageBytes))).toBe("a".repeat(maxStatusMessageBytes))
  })

  it("cuts a long echo at the limit, keeping its start and saying how much was left out", () => {
    const message = `workflow names not found: ${"x".repeat(100_000)}`
    const bounded = boundStatusMessage(message)
    expect(bounded.startsWith("workflow names not found: xxxx")).toBe(true)
    expect(bounded).toMatch(/ \.\.\. \(\d+ more characters\)$/)
    expect(encoded(bounded)).toBeLessThanOrEqual(maxStatusMessageBytes)
    const omitted = Number(/\((\d+) more characters\)$/.exec(bounded)![1])
    expect(bounded.length - ` ... (${omitted} more characters)`.length + omitted).toBe(message.length)
  })

  it("measures characters as encodeURI writes them: spaces and non-ASCII take more", () => {
    for (const unit of [" ", "é", "中", "😀", "%", "<>"]) {
      const bounded = boundStatusMessage(`name: ${unit.repeat(5_000)}`)
      expect(encoded(bounded)).toBeLessThanOrEqual(maxStatusMessageBytes)
      expect(encoded(bounded)).toBeGreaterThan(maxStatusMessageBytes - 200)
    }
  })

  it("never splits a surrogate pair, and replaces lone surrogates (encodeURI throws on them)", () => {
    const bounded = boundStatusMessage("😀".repeat(10_000))
    expect(() => encodeURI(bounded)).not.toThrow()
    expect(boundStatusMessage("bad \uD800 id \uDC00")).toBe("bad \uFFFD id \uFFFD")
    expect(() => encodeURI(boundStatusMessage(`\uD800${"x".repeat(10_000)}`))).not.toThrow()
  })

  it("takes a smaller bound", () => {
    expect(boundStatusMessage("x".repeat(1_000), 100)).toMatch(/^x+ \.\.\. \(\d+ more characters\)$/)
    expect(encoded(boundStatusMessage("x".repeat(1_000), 100))).toBeLessThanOrEqual(100)
  })
})
