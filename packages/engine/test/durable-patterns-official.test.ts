/**
 * The official SDK's shipped durable patterns (`v1/examples/welcome_email`, `support_agent`),
 * unchanged, with the official worker and client against an engine whose clock is the test's
 * `TestClock`: each waits for a scoped event or a 5 s timeout, whichever comes first, looking
 * back 5 minutes for an event pushed before the wait began (as the examples' own `run.ts` does:
 * it pushes right after triggering). The examples build their client from the environment when
 * first imported, so it points at the engine first.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import type { EngineCoreService } from "../src/internal/core.js"
import { advance, call } from "./support/clocked.js"
import { untilWaiting } from "./support/durable.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

interface WelcomeInput {
  readonly email: string
  readonly user_id: string
}
interface WelcomeOutput {
  readonly userId: string
  readonly welcomeSent: boolean
  readonly followUpSent: boolean
}
interface WelcomeExample {
  readonly welcomeEmail: Examples.Runnable<WelcomeInput, WelcomeOutput>
  readonly ONBOARDING_EVENT_KEY: string
}

interface Ticket {
  readonly ticketId: string
  readonly customerEmail: string
  readonly subject: string
  readonly body: string
}
interface SupportOutput {
  readonly ticketId: string
  readonly status: "escalated" | "resolved"
  readonly triageCategory: string
  readonly triagePriority: string
  readonly initialReply: string
}
interface SupportExample {
  readonly supportAgent: Examples.Runnable<Ticket, SupportOutput>
  readonly triageTicket: Examples.Runnable<Ticket, unknown>
  readonly generateReply: Examples.Runnable<Ticket, unknown>
  readonly escalateTicket: Examples.Runnable<Ticket, unknown>
  readonly REPLY_EVENT_KEY: string
  readonly TIMEOUT_SECONDS: number
}

/** The support agent example and its worker (its tasks and children); the reply made without an API key. */
const supportAgentWorker = Effect.gen(function*() {
  delete process.env.ANTHROPIC_API_KEY
  const { core, engine, hatchet } = yield* Examples.client
  const example = yield* Examples.load<SupportExample>("support_agent/workflow.js")
  yield* Examples.worker("support-agent-worker", [
    example.supportAgent,
    example.triageTicket,
    example.generateReply,
    example.escalateTicket
  ])
  return { core, engine, example, hatchet }
})

const token = (engine: { readonly token: Redacted.Redacted<string> }) => Redacted.value(engine.token)

/** The child runs a durable task spawned, by workflow name, from its log. */
const spawned = (core: EngineCoreService, runId: string): Array<string> => {
  const task = core.state.tasksByExternalId.get(runId)!
  return [...task.durable!.entries.values()].filter((e) => e.kind === "RUN").map((e) =>
    core.state.runsById.get(e.childRunId!)!.workflow.name
  )
}

layer(Examples.engineLive, { timeout: 60_000 })("official SDK examples: durable patterns", (it) => {
  it.scoped("welcome_email: no onboarding within 5 s of the engine's clock sends the follow-up", () =>
    Effect.gen(function*() {
      const { core } = yield* Examples.client
      const { welcomeEmail } = yield* Examples.load<WelcomeExample>("welcome_email/workflow.js")
      yield* Examples.worker("welcome-email-worker", [welcomeEmail])
      const run = yield* Examples.trigger(() => welcomeEmail.runNoWait({ email: "ada@example.com", user_id: "user-timeout" }))
      yield* untilWaiting(core, "welcome-email")
      yield* advance(4_999)
      expect(core.state.tasksByExternalId.get(run.id)!.state._tag).not.toBe("Completed")
      yield* advance(1)
      expect(yield* run.output).toEqual({ userId: "user-timeout", welcomeSent: true, followUpSent: true })
    }), 30_000)

  it.scoped("welcome_email: the user's onboarding event ends the wait, another user's does not", () =>
    Effect.gen(function*() {
      const { core, hatchet } = yield* Examples.client
      const example = yield* Examples.load<WelcomeExample>("welcome_email/workflow.js")
      yield* Examples.worker("welcome-email-worker", [example.welcomeEmail])
      const run = yield* Examples.trigger(() => example.welcomeEmail.runNoWait({ email: "bob@example.com", user_id: "user-bob" }))
      yield* untilWaiting(core, "welcome-email")
      // scoped to another user: not this run's
      yield* Effect.promise(() => hatchet.events.push(example.ONBOARDING_EVENT_KEY, { status: "done" }, { scope: "user-eve" }))
      const runId = run.id
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
      expect(core.state.tasksByExternalId.get(runId)!.state._tag).toBe("Assigned")
      yield* Effect.promise(() => hatchet.events.push(example.ONBOARDING_EVENT_KEY, { status: "done" }, { scope: "user-bob" }))
      expect(yield* run.output).toEqual({ userId: "user-bob", welcomeSent: true, followUpSent: false })
    }), 30_000)

  it.scoped(
    "welcome_email as its run.ts drives it: the event pushed right after the trigger is found by the lookback",
    () =>
      Effect.gen(function*() {
        const { hatchet } = yield* Examples.client
        const example = yield* Examples.load<WelcomeExample>("welcome_email/workflow.js")
        yield* Examples.worker("welcome-email-worker", [example.welcomeEmail])
        const run = yield* Examples.trigger(() => example.welcomeEmail.runNoWait({ email: "cy@example.com", user_id: "user-cy" }))
        yield* Effect.promise(() => hatchet.events.push(example.ONBOARDING_EVENT_KEY, { status: "done" }, { scope: "user-cy" }))
        expect(yield* run.output).toEqual({ userId: "user-cy", welcomeSent: true, followUpSent: false })
      }),
    30_000
  )

  it.scoped("welcome_email is started by its `user:signup` event", () =>
    Effect.gen(function*() {
      const { core, hatchet } = yield* Examples.client
      const example = yield* Examples.load<WelcomeExample>("welcome_email/workflow.js")
      yield* Examples.worker("welcome-email-worker", [example.welcomeEmail])
      yield* Effect.promise(() => hatchet.events.push("user:signup", { email: "dee@example.com", user_id: "user-dee" }))
      const task = (yield* untilWaiting(core, "welcome-email")).find((t) => t.run.inputRaw.includes("user-dee"))
      yield* Effect.promise(() => hatchet.events.push(example.ONBOARDING_EVENT_KEY, { status: "done" }, { scope: "user-dee" }))
      const output = yield* Official.eventually(() =>
        task!.state._tag === "Completed" ? JSON.parse(task!.state.output) as WelcomeOutput : undefined
      )
      expect(output).toEqual({ userId: "user-dee", welcomeSent: true, followUpSent: false })
    }), 30_000)

  it.scoped(
    "support_agent: no customer reply within 5 s escalates; triage, reply and escalation run as its children",
    () =>
      Effect.gen(function*() {
        const { core, engine, example } = yield* supportAgentWorker
        const ticket: Ticket = {
          ticketId: "ticket-1",
          customerEmail: "ann@example.com",
          subject: "Charged twice",
          body: "My card shows the payment twice."
        }
        const run = yield* Examples.trigger(() => example.supportAgent.runNoWait(ticket))
        yield* untilWaiting(core, "support-agent")
        yield* advance(example.TIMEOUT_SECONDS * 1000)
        expect(yield* run.output).toEqual({
          ticketId: "ticket-1",
          status: "escalated",
          triageCategory: "billing",
          triagePriority: "medium",
          initialReply: "Thank you for contacting support about: Charged twice. We are looking into this and will get back to you shortly."
        })
        const runId = run.id
        expect(spawned(core, runId)).toEqual(["triage-ticket", "generate-reply", "escalate-ticket"])
        // the log as REST lists it: the children, now(), the labelled or-group, the escalation
        const log = yield* call("GET", `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/durable-tasks/${runId}`, token(engine))
        expect(log.status).toBe(200)
        const entries = log.body as ReadonlyArray<Record<string, unknown>>
        expect(entries.map((e) => [e.nodeId, e.branchId, e.kind, e.isSatisfied])).toEqual([
          [1, 1, "RUN", true],
          [2, 1, "RUN", true],
          [3, 1, "MEMO", true],
          [4, 1, "WAIT_FOR", true],
          [5, 1, "RUN", true]
        ])
        expect(entries[0]).toMatchObject({
          taskExternalId: runId,
          waitData: [{ kind: "CHILD_WORKFLOW", workflowName: "triage-ticket" }]
        })
        expect(entries[3]!.waitData).toEqual([{
          or: [{ kind: "SLEEP", sleepDurationMs: 5000 }, { kind: "USER_EVENT", eventKey: example.REPLY_EVENT_KEY }]
        }])
        expect(typeof entries[3]!.satisfiedAt).toBe("string")
        const paged = yield* call(
          "GET",
          `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/durable-tasks/${runId}?offset=3&limit=1`,
          token(engine)
        )
        expect((paged.body as ReadonlyArray<Record<string, unknown>>).map((e) => e.nodeId)).toEqual([4])
        const base = `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/durable-tasks`
        expect(yield* call("GET", `${base}/not-a-uuid`, token(engine))).toEqual({
          status: 400,
          body: { message: "invalid durable task id" }
        })
        expect((yield* call("GET", `${base}/${engine.tenantId}`, token(engine))).status).toBe(404)
      }),
    30_000
  )

  it.scoped("support_agent as its run.ts drives it: the ticket's reply resolves it, with no escalation", () =>
    Effect.gen(function*() {
      const { core, example, hatchet } = yield* supportAgentWorker
      const ticket: Ticket = {
        ticketId: "ticket-42",
        customerEmail: "alice@example.com",
        subject: "Login broken",
        body: "I can't log in since this morning."
      }
      const run = yield* Examples.trigger(() => example.supportAgent.runNoWait(ticket))
      // another ticket's reply first: not this run's
      yield* Effect.promise(() => hatchet.events.push(example.REPLY_EVENT_KEY, { message: "wrong ticket" }, { scope: "ticket-7" }))
      yield* Effect.promise(() =>
        hatchet.events.push(example.REPLY_EVENT_KEY, { message: "I cleared my cookies and it works now." }, { scope: "ticket-42" })
      )
      expect(yield* run.output).toMatchObject({
        ticketId: "ticket-42",
        status: "resolved",
        triageCategory: "account",
        triagePriority: "medium"
      })
      expect(spawned(core, run.id)).toEqual(["triage-ticket", "generate-reply"])
    }), 30_000)
})
