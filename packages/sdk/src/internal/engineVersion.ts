/**
 * What a worker's definitions need of the engine, by Hatchet version, and the check of the
 * version `Dispatcher/GetVersion` reports against it.
 *
 * Hatchet's engine ignores fields it does not know: an older engine would silently run a
 * `CANCEL_QUEUED_EXCEPT_NEWEST` limit as its default strategy (cancelling running work), drop a
 * shared limit's name, or run every trigger of an idempotent workflow (releasing a key by status
 * on an engine that knows only TTLs would hold it for the whole TTL). So a worker whose definitions use a newer feature asks the engine its
 * version first and refuses to start on one that is too old, naming the feature and the version
 * it needs.
 *
 * @internal
 */
import {
  type Concurrency,
  ConcurrencyLimitStrategy,
  type CreateTaskOpts,
  type IdempotencyConfig,
  IdempotencyMethod
} from "@effect-hatchet/proto/v1/workflows"
import type { Compiled } from "./registration.js"

/** Engine versions that brought what the SDK can send. */
export const minEngineVersion = {
  /** Workers register with `slot_config` (the official SDKs' rule). */
  slotConfig: "v0.78.23",
  /** Batch tasks (`TaskBatchConfig`, `START_BATCH`, `SendBatchActionEvent`): upstream #3975. */
  batchTasks: "v0.98.0",
  /** Durable tasks on the `V1Dispatcher/DurableTask` stream (engine semantics §9.3). */
  durableTasks: "v0.80.0",
  /** A workflow's idempotency key (`CreateWorkflowVersionRequest.idempotency`): upstream #4045. */
  idempotency: "v0.95.0",
  /** Its key held until the run ends (`IdempotencyMethod.STATUS`): upstream #4460. */
  idempotencyUntilFinished: "v0.96.0",
  queueDepthStrategies: "v0.105.16",
  sharedConcurrency: "v0.106.5",
  maxRunsExpression: "v0.106.5"
} as const

/** A feature a definition uses and the engine version it needs. */
export interface Requirement {
  readonly workflow: string
  readonly feature: string
  readonly minVersion: string
}

const concurrencyRequirements = (workflow: string, where: string, limits: ReadonlyArray<Concurrency>): Array<Requirement> =>
  limits.flatMap((limit) => {
    const found: Array<Requirement> = []
    if (
      limit.limitStrategy === ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_NEWEST ||
      limit.limitStrategy === ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_OLDEST
    ) {
      const name = limit.limitStrategy === ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_NEWEST ? "NEWEST" : "OLDEST"
      found.push({
        workflow,
        feature: `${where}: the CANCEL_QUEUED_EXCEPT_${name} strategy`,
        minVersion: minEngineVersion.queueDepthStrategies
      })
    }
    if (limit.isTenantScoped === true) {
      found.push({ workflow, feature: `${where}: the tenant-scoped limit "${limit.name}"`, minVersion: minEngineVersion.sharedConcurrency })
    }
    if (limit.maxRunsExpression !== undefined) {
      found.push({ workflow, feature: `${where}: maxRuns as an expression`, minVersion: minEngineVersion.maxRunsExpression })
    }
    return found
  })

const idempotencyRequirements = (workflow: string, idempotency: IdempotencyConfig | undefined): Array<Requirement> =>
  idempotency === undefined ? [] : [
    { workflow, feature: "an idempotency key", minVersion: minEngineVersion.idempotency },
    ...(idempotency.method === IdempotencyMethod.STATUS
      ? [{
        workflow,
        feature: `an idempotency key held until the run ends (until: "finished")`,
        minVersion: minEngineVersion.idempotencyUntilFinished
      }]
      : [])
  ]

/** What the compiled definitions need beyond what every supported engine has. */
export const requirementsOf = (compiled: ReadonlyArray<Compiled>): Array<Requirement> =>
  compiled.flatMap(({ request, wireName }) => {
    const tasks: ReadonlyArray<CreateTaskOpts> = request.onFailureTask !== undefined
      ? [...request.tasks, request.onFailureTask]
      : request.tasks
    return [
      ...concurrencyRequirements(wireName, "concurrency", request.concurrencyArr),
      ...idempotencyRequirements(wireName, request.idempotency),
      ...tasks.flatMap((task) => concurrencyRequirements(wireName, `task "${task.readableId}" concurrency`, task.concurrency)),
      ...tasks.flatMap((task) =>
        task.isDurable
          ? [{ workflow: wireName, feature: `task "${task.readableId}" is a durable task`, minVersion: minEngineVersion.durableTasks }]
          : []
      ),
      ...tasks.flatMap((task) =>
        task.batch === undefined
          ? []
          : [{ workflow: wireName, feature: `task "${task.readableId}" is a batch task`, minVersion: minEngineVersion.batchTasks }]
      )
    ]
  })

/** `vX.Y.Z` (a leading `v`, pre-release and build parts allowed) as numbers, or undefined. */
export const parseVersion = (version: string): readonly [number, number, number] | undefined => {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(version.trim())
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])]
}

/** Whether `version` is older than `min`; undefined when `version` is not a version number. */
export const isOlder = (version: string, min: string): boolean | undefined => {
  const a = parseVersion(version)
  const b = parseVersion(min)
  if (a === undefined || b === undefined) return undefined
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]!
  return false
}

/**
 * The requirements `engineVersion` does not meet (none when it is not a version number, e.g. a
 * development build: nothing can be known then), and `undefined` for an engine that does not
 * answer `GetVersion` at all.
 */
export const unmet = (engineVersion: string | undefined, requirements: ReadonlyArray<Requirement>): Array<Requirement> =>
  requirements.filter((requirement) => engineVersion === undefined ? true : isOlder(engineVersion, requirement.minVersion) === true)

/** A clear account of what an engine is too old for. */
export const tooOldMessage = (engineVersion: string | undefined, missing: ReadonlyArray<Requirement>): string => {
  const engine = engineVersion === undefined
    ? "The Hatchet engine does not report its version (Dispatcher/GetVersion is unimplemented), so it is older than"
    : `The Hatchet engine is ${engineVersion}, older than`
  const needed = missing.map((m) => m.minVersion).sort((a, b) => (isOlder(a, b) === true ? 1 : -1))[0]
  return `${engine} ${needed}, which these definitions need:\n` +
    missing.map((m) => `  - workflow "${m.workflow}", ${m.feature} (needs ${m.minVersion} or newer)`).join("\n") +
    "\nUpgrade the engine, or stop using these features. An older engine would ignore them and run the workflows differently."
}
