/**
 * Test support for the proto conformance test: compile a directory of `.proto` files with the
 * buf CLI installed from npm, decode the FileDescriptorSet, and reduce it to what matters on the
 * wire so two contracts can be compared.
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf"
import { fromBinary, isFieldSet, toJson } from "@bufbuild/protobuf"
import type {
  DescriptorProto,
  EnumDescriptorProto,
  FieldDescriptorProto,
  FileDescriptorProto,
  ServiceDescriptorProto
} from "@bufbuild/protobuf/wkt"
import {
  EnumOptionsSchema,
  EnumValueOptionsSchema,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  FileDescriptorSetSchema,
  FileOptionsSchema,
  MessageOptionsSchema,
  MethodOptionsSchema,
  ServiceOptionsSchema
} from "@bufbuild/protobuf/wkt"
import { execFileSync } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

const buf = path.join(repoRoot, "node_modules/.bin/buf")

/** Every `.proto` file under `dir`, as paths relative to it. */
const protoFiles = (dir: string): Array<string> => {
  const out: Array<string> = []
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.name.endsWith(".proto")) out.push(path.relative(dir, full))
    }
  }
  walk(dir)
  return out.sort()
}

/** A fresh temporary directory, removed by the returned function. */
export const makeTempDir = (prefix: string): { readonly dir: string; readonly remove: () => void } => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/**
 * Copies the `.proto` files of `source` into `workDir/<name>` (a module root of its own, so no
 * buf.yaml of the repository applies), builds them into `workDir/<name>.binpb` and decodes it.
 * `edit` may rewrite a file's text on the way (used to prove the comparison can fail).
 */
export const compile = (
  source: string,
  workDir: string,
  name: string,
  edit?: (file: string, text: string) => string
): ReadonlyArray<FileDescriptorProto> => {
  const moduleDir = path.join(workDir, name)
  for (const file of protoFiles(source)) {
    const target = path.join(moduleDir, file)
    fs.mkdirSync(path.dirname(target), { recursive: true })
    const text = fs.readFileSync(path.join(source, file), "utf8")
    fs.writeFileSync(target, edit ? edit(file, text) : text)
  }
  const output = path.join(workDir, `${name}.binpb`)
  execFileSync(
    buf,
    ["build", moduleDir, "--as-file-descriptor-set", "--exclude-imports", "--exclude-source-info", "-o", output],
    { cwd: workDir, stdio: ["ignore", "pipe", "pipe"] }
  )
  return fromBinary(FileDescriptorSetSchema, fs.readFileSync(output)).file
}

export type Canonical = { readonly [key: string]: Canonical } | ReadonlyArray<Canonical> | string | number | boolean | null

const byName = <A extends { readonly name: string }>(
  items: ReadonlyArray<A>,
  f: (a: A) => Canonical
): Canonical => Object.fromEntries(items.map((a) => [a.name, f(a)]))

// Absent options and empty options are the same thing.
const options = <Desc extends DescMessage>(
  schema: Desc,
  value: MessageShape<Desc> | undefined,
  drop: ReadonlyArray<string> = []
): Canonical => {
  const copy = { ...(value === undefined ? {} : toJson(schema, value) as Record<string, Canonical>) }
  for (const key of drop) delete copy[key]
  return copy
}

const field = (message: DescriptorProto) => (f: FieldDescriptorProto): Canonical => ({
  number: f.number,
  label: FieldDescriptorProto_Label[f.label] ?? f.label,
  type: FieldDescriptorProto_Type[f.type] ?? f.type,
  typeName: f.typeName,
  extendee: f.extendee,
  defaultValue: f.defaultValue,
  jsonName: f.jsonName,
  // oneof_index is a proto2 optional: unset (not 0) means "in no oneof".
  oneof: isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex)
    ? message.oneofDecl[f.oneofIndex]?.name ?? `#${f.oneofIndex}`
    : null,
  proto3Optional: f.proto3Optional,
  options: options(FieldOptionsSchema, f.options)
})

const message = (m: DescriptorProto): Canonical => ({
  fields: byName(m.field, field(m)),
  oneofs: m.oneofDecl.map((o) => o.name).sort(),
  messages: byName(m.nestedType, message),
  enums: byName(m.enumType, enumeration),
  extensions: byName(m.extension, field(m)),
  reservedRanges: m.reservedRange.map((r) => `${r.start}..${r.end}`).sort(),
  reservedNames: [...m.reservedName].sort(),
  extensionRanges: m.extensionRange.map((r) => `${r.start}..${r.end}`).sort(),
  options: options(MessageOptionsSchema, m.options)
})

const enumeration = (e: EnumDescriptorProto): Canonical => ({
  values: byName(e.value, (v) => ({
    number: v.number,
    options: options(EnumValueOptionsSchema, v.options)
  })),
  reservedRanges: e.reservedRange.map((r) => `${r.start}..${r.end}`).sort(),
  reservedNames: [...e.reservedName].sort(),
  options: options(EnumOptionsSchema, e.options)
})

const service = (s: ServiceDescriptorProto): Canonical => ({
  methods: byName(s.method, (m) => ({
    inputType: m.inputType,
    outputType: m.outputType,
    clientStreaming: m.clientStreaming,
    serverStreaming: m.serverStreaming,
    options: options(MethodOptionsSchema, m.options)
  })),
  options: options(ServiceOptionsSchema, s.options)
})

/**
 * The wire-relevant content of a descriptor set, keyed by file and element names so that
 * declaration order, comments and source info do not count. `go_package` is dropped; imports are
 * not compared (the types they bring in are, through every field's fully-qualified type name).
 */
export const canonical = (files: ReadonlyArray<FileDescriptorProto>): Canonical =>
  byName(files, (f) => ({
    syntax: f.syntax === "" ? "proto2" : f.syntax,
    edition: f.edition,
    package: f.package,
    options: options(FileOptionsSchema, f.options, ["goPackage"]),
    messages: byName(f.messageType, message),
    enums: byName(f.enumType, enumeration),
    services: byName(f.service, service),
    extensions: byName(f.extension, field({ oneofDecl: [] } as unknown as DescriptorProto))
  }))

/** Every difference between two canonical values, as `path: ours … reference …` lines. */
export const differences = (ours: Canonical | undefined, reference: Canonical | undefined, at = ""): Array<string> => {
  const isObject = (x: unknown): x is Record<string, Canonical> => typeof x === "object" && x !== null && !Array.isArray(x)
  if (isObject(ours) && isObject(reference)) {
    const keys = [...new Set([...Object.keys(ours), ...Object.keys(reference)])].sort()
    return keys.flatMap((key) => differences(ours[key], reference[key], at === "" ? key : `${at}.${key}`))
  }
  const a = JSON.stringify(ours)
  const b = JSON.stringify(reference)
  return a === b ? [] : [`${at}: ours ${a ?? "(missing)"}, reference ${b ?? "(missing)"}`]
}
