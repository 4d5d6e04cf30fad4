/**
 * The official SDK's shipped `pdf_pipeline` example, unchanged, on an official worker against
 * this engine, with the facts upstream's own test of it checks: a one-page PDF made by the
 * example's own `makeSamplePdf` goes through the DAG (text extraction, then classification,
 * summary and keywords side by side, then a result formatted from all four parents), and the
 * run's output holds each task's output under its name. (Without the optional `pdf2json` the
 * example extracts its own fixed invoice text; the facts checked hold either way.)
 */
import { expect, layer } from "@effect/vitest"
import type * as SamplePdfModule from "@hatchet-dev/typescript-sdk/v1/examples/pdf_pipeline/sample-pdf.js"
import type * as ExampleModule from "@hatchet-dev/typescript-sdk/v1/examples/pdf_pipeline/workflow.js"
import { Effect } from "effect"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"

type Example = typeof ExampleModule
type SamplePdf = typeof SamplePdfModule
interface Output {
  readonly extract_text: { readonly text: string; readonly pageCount: number }
  readonly classify_document: { readonly category: string }
  readonly summarize_text: { readonly summary: string; readonly wordCount: number }
  readonly extract_keywords: { readonly keywords: ReadonlyArray<string> }
  readonly format_result: {
    readonly filename: string
    readonly category: string
    readonly summary: string
    readonly keywords: ReadonlyArray<string>
    readonly wordCount: number
    readonly pageCount: number
  }
}

layer(InternalEngine.layer(), { timeout: 30_000, excludeTestServices: true })("official SDK example: pdf_pipeline", (it) => {
  it.scoped("a PDF through the DAG: text, category, summary and keywords, and the result formatted from them", () =>
    Effect.gen(function*() {
      const { pdfPipeline } = yield* Examples.load<Example>("pdf_pipeline/workflow.js")
      const { makeSamplePdf } = yield* Examples.load<SamplePdf>("pdf_pipeline/sample-pdf.js")
      yield* Examples.worker("pdf-pipeline-worker", [pdfPipeline])
      const pdf = makeSamplePdf("Invoice from Acme Corp. Total amount due: 150 dollars.")
      const result = (yield* Effect.promise(() =>
        pdfPipeline.run({ filename: "test-invoice.pdf", contentBase64: pdf.toString("base64") })
      )) as unknown as Output
      expect(result.extract_text.pageCount).toBe(1)
      expect(result.extract_text.text).toContain("Invoice")
      expect(result.classify_document.category).toBe("invoice")
      expect(result.summarize_text.wordCount).toBeGreaterThan(0)
      expect(result.summarize_text.summary.length).toBeGreaterThan(0)
      const { keywords } = result.extract_keywords
      expect(keywords).toContain("acme")
      expect(keywords).toContain("invoice")
      expect(result.format_result).toEqual({
        filename: "test-invoice.pdf",
        category: "invoice",
        summary: result.summarize_text.summary,
        keywords,
        wordCount: result.summarize_text.wordCount,
        pageCount: 1
      })
    }))
})
