/**
 * A task's step conditions as `CreateTaskOpts.conditions` (`TaskConditions`), built as the
 * official TypeScript SDK builds them, and checked before sending.
 */
import {
  Action,
  type BaseMatchCondition,
  type ParentOverrideMatchCondition,
  type SleepMatchCondition,
  type TaskConditions as TaskConditionsProto,
  type UserEventMatchCondition
} from "@effect-hatchet/proto/v1/shared/condition"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Condition from "../Condition.js"
import { type TaskConditions, WorkflowDefinitionError } from "./definition.js"
import { toGoDuration } from "./duration.js"
import { applyNamespace } from "./naming.js"

/** What an action is called where users declare it. */
const actions = [
  ["waitFor", Action.QUEUE],
  ["cancelIf", Action.CANCEL],
  ["skipIf", Action.SKIP]
] as const

/**
 * The `TaskConditions` message of a task; problems go to `issues`. As the official SDK: always a
 * message (empty lists when the task has none); `waitFor` (QUEUE), then `cancelIf` (CANCEL), then
 * `skipIf` (SKIP) within each kind; a sleep's data key `sleep-<duration>`, an event's its key (not
 * namespaced) and a parent's `parent-<readable id>`; the event key namespaced; every condition
 * outside an `or` in an or-group of its own. Or-group ids are UUIDs derived from the workflow, the
 * task and the group's position, so registering the same definition twice sends the same request
 * (Hatchet only compares which conditions share a group). The CEL expressions of event and
 * parent-output conditions go to `expressions`, for `checkExpressions`.
 */
export const taskConditions = (
  issues: Array<string>,
  where: string,
  conditions: TaskConditions | undefined,
  parents: ReadonlyArray<string>,
  group: { readonly workflow: string; readonly task: string; readonly namespace: string },
  expressions: Array<ConditionExpression>
): TaskConditionsProto => {
  const out: {
    parentOverrideConditions: Array<ParentOverrideMatchCondition>
    sleepConditions: Array<SleepMatchCondition>
    userEventConditions: Array<UserEventMatchCondition>
  } = { parentOverrideConditions: [], sleepConditions: [], userEventConditions: [] }
  if (conditions === undefined) return out
  let groups = 0
  for (const [name, action] of actions) {
    const list = conditions[name]
    if (!Array.isArray(list)) {
      issues.push(`${where}.${name}: must be a condition or a list of conditions`)
      continue
    }
    list.forEach((condition, i) => {
      const at = `${where}.${name}[${i}]`
      if (!Condition.isCondition(condition)) {
        issues.push(`${at}: not a condition (make one with Condition.sleep, Condition.event, Condition.parentOutput or Condition.or)`)
        return
      }
      const orGroupId = groupId(group.workflow, group.task, groups++)
      const members: ReadonlyArray<readonly [string, Condition.Single]> = condition._tag === "Or"
        ? flatten(condition).map((member, j) => [`${at}.or[${j}]`, member] as const)
        : [[at, condition]]
      if (members.length === 0) issues.push(`${at}: an or-group needs at least one condition`)
      for (const [memberAt, member] of members) {
        const base = (readableDataKey: string, expression: string): BaseMatchCondition => ({
          readableDataKey,
          action,
          orGroupId,
          expression
        })
        switch (member._tag) {
          case "Sleep": {
            const sleepFor = Either.match(toGoDuration(member.duration), {
              onLeft: (issue) => {
                issues.push(`${memberAt}: a sleep's duration ${issue}`)
                return ""
              },
              onRight: (value) => value
            })
            checkDataKey(issues, memberAt, member.dataKey)
            out.sleepConditions.push({ base: base(dataKeyOf(member), ""), sleepFor })
            break
          }
          case "Event": {
            if (typeof member.key !== "string" || member.key.trim() === "") {
              issues.push(`${memberAt}: an event condition needs a non-empty event key`)
            }
            const expression = member.expression ?? ""
            if (typeof expression !== "string" || (expression !== "" && expression.trim() === "")) {
              issues.push(`${memberAt}.expression: must be a CEL expression over input (leave it out to accept any event)`)
            } else if (expression !== "") expressions.push({ where: `${memberAt}.expression`, source: expression })
            checkDataKey(issues, memberAt, member.dataKey)
            out.userEventConditions.push({
              base: base(dataKeyOf(member), expression),
              userEventKey: applyNamespace(member.key, group.namespace),
              eventScope: undefined,
              considerEventsSince: undefined
            })
            break
          }
          case "ParentOutput": {
            if (!parents.includes(member.parent)) {
              issues.push(
                `${memberAt}: "${member.parent}" is not a parent of this task (parents: ${
                  parents.length === 0 ? "none" : parents.map((p) => `"${p}"`).join(", ")
                })`
              )
            }
            if (typeof member.expression !== "string" || member.expression.trim() === "") {
              issues.push(`${memberAt}.expression: a CEL expression over output is required, e.g. "output.ok == true"`)
            } else expressions.push({ where: `${memberAt}.expression`, source: member.expression })
            out.parentOverrideConditions.push({
              base: base(`parent-${member.parent}`, member.expression),
              parentReadableId: member.parent
            })
            break
          }
          default:
            issues.push(`${memberAt}: not a condition (make one with Condition.sleep, Condition.event or Condition.parentOutput)`)
        }
      }
    })
  }
  return out
}

/** A condition's CEL expression and where it was declared (`tasks.ship.waitFor[0].expression`). */
export interface ConditionExpression {
  readonly where: string
  readonly source: string
}

/**
 * Compiles the conditions' CEL expressions as Hatchet will (cel-go in upstream's `condition`
 * environment: `input` and `output`, the standard library), before they are sent. Hatchet does not
 * check them when a workflow is registered, and skips one that does not compile when it matches
 * events (it logs the error), so the task would wait for ever, or never be skipped or cancelled.
 * The compiler is loaded only for a definition that has such an expression.
 */
export const checkExpressions = (
  workflow: string,
  expressions: ReadonlyArray<ConditionExpression>
): Effect.Effect<void, WorkflowDefinitionError> =>
  expressions.length === 0 ? Effect.void : Effect.flatMap(
    Effect.promise(() => import("@effect-hatchet/shared/Cel")),
    (Cel) => {
      const issues: Array<string> = []
      for (const { source, where } of expressions) {
        const compiled = Cel.compile("condition", source)
        if (compiled._tag === "Invalid") issues.push(`${where}: does not compile:\n      ${compiled.message.replace(/\n/g, "\n      ")}`)
      }
      return issues.length === 0 ? Effect.void : Effect.fail(new WorkflowDefinitionError({ workflow, issues }))
    }
  )

/**
 * The readable data key of a sleep or an event condition, as the official SDK names it: its
 * `dataKey`, else `sleep-<Go duration>` for a sleep (`""` after the duration when it is invalid)
 * and the (not namespaced) key for an event.
 */
export const dataKeyOf = (condition: Condition.Sleep | Condition.Event): string =>
  condition.dataKey ?? (condition._tag === "Event"
    ? condition.key
    : `sleep-${Either.getOrElse(toGoDuration(condition.duration), () => "")}`)

const flatten = (or: Condition.Or): ReadonlyArray<Condition.Single> =>
  (Array.isArray(or.conditions) ? or.conditions : []).flatMap((member) =>
    Condition.isCondition(member) && member._tag === "Or" ? flatten(member) : [member]
  )

const checkDataKey = (issues: Array<string>, where: string, dataKey: string | undefined) => {
  if (dataKey !== undefined && (typeof dataKey !== "string" || dataKey.trim() === "")) {
    issues.push(`${where}.dataKey: must be a non-empty string`)
  }
}

/**
 * A UUID (version 4 layout) derived from the workflow, the task and the group's position: the
 * same definition gives the same ids, and no two groups of a workflow share one.
 */
export const groupId = (workflow: string, task: string, index: number): string => {
  const text = `${workflow}\u0000${task}\u0000${index}`
  const words = [0x811c9dc5, 0x050c5d1f, 0x3b9aca07, 0x6a09e667].map((seed) => {
    let hash = seed >>> 0
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i)
      hash = Math.imul(hash, 0x01000193) >>> 0
    }
    return hash.toString(16).padStart(8, "0")
  })
  const hex = words.join("")
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}
