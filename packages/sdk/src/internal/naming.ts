/**
 * Wire names: namespacing, lowercasing and action ids, exactly as the official SDKs compute them.
 *
 * - workflow name on the wire = `applyNamespace(name, namespace).toLowerCase()`
 * - step action in `PutWorkflow` = `"<wire workflow name>:<task readable id>"` (case preserved; the
 *   engine normalizes the part after `:` to lowercase when it stores it)
 * - worker action (Register, and `AssignedAction.action_id`) = `"<wire workflow name>:<task lower>"`
 * - event keys are namespaced, not lowercased; cron expressions are not namespaced
 */

/** Names, readable ids, worker names and services: the engine's validator regex. */
export const NAME_PATTERN = /^[a-zA-Z0-9.\-_]+$/

/** The readable id of a workflow's on-failure task. */
export const ON_FAILURE_TASK = "on-failure-task"

/** The readable id of a workflow's on-success task (a normal task whose parents are the leaves). */
export const ON_SUCCESS_TASK = "on-success-task"

/** `applyNamespace` as in the official TS SDK: prefix unless the name already starts with it. */
export const applyNamespace = (name: string, namespace: string): string =>
  namespace !== "" && !name.startsWith(namespace) ? `${namespace}${name}` : name

/** The workflow name sent in `PutWorkflow` and in triggers. */
export const workflowWireName = (name: string, namespace: string): string => applyNamespace(name, namespace).toLowerCase()

/** The action of a step in `CreateTaskOpts.action`. */
export const stepAction = (wireWorkflowName: string, readableId: string): string => `${wireWorkflowName}:${readableId}`

/** The action a worker registers and receives in `AssignedAction.action_id`. */
export const workerAction = (wireWorkflowName: string, readableId: string): string => `${wireWorkflowName}:${readableId.toLowerCase()}`
