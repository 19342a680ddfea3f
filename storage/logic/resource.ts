// Resources: Kubernetes-style JSON objects keyed `Kind/namespace/name`. Everything that enters the
// store is validated here first, with an error that names the field and the problem.
import { canonicalJson, type Json } from './canonical.ts';

/** A resource as users write it. */
export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; [field: string]: Json };
  spec?: Json;
  [field: string]: Json | undefined;
}

/** Bounds on resources. */
export interface ResourceLimits {
  /** Largest canonical encoding of one resource, in bytes. */
  valueBytesMax: number;
  /** Deepest nesting of objects and arrays. */
  depthMax: number;
}

/** Default bounds: 1 MiB values, 32 levels of nesting. */
export const DEFAULT_RESOURCE_LIMITS: ResourceLimits = { valueBytesMax: 1024 * 1024, depthMax: 32 };

/** Namespace used when a resource does not name one (as kubectl does). */
export const DEFAULT_NAMESPACE = 'default';

const KIND_RE = /^[A-Z][A-Za-z0-9]{0,62}$/;
// DNS-1123 subdomain, as Kubernetes requires for names and namespaces.
const NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * Invalid user input; stable code INVALID_ARGUMENT (a subclass may name its own cause, e.g.
 * UNKNOWN_KIND: resource-kinds.ts), `field` names the offending path.
 */
export class InvalidResourceError extends Error {
  readonly code: string = 'INVALID_ARGUMENT';
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.field = field;
  }
}

/** A validated resource and its key. */
export interface ParsedResource {
  key: string;
  resource: Resource;
  /** Canonical encoding of the resource. */
  canonical: string;
}

/** `Kind/namespace/name`. */
export function resourceKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** Split and validate a key; throws InvalidResourceError. */
export function parseKey(key: string): { kind: string; namespace: string; name: string } {
  const parts = key.split('/');
  if (parts.length !== 3) throw new InvalidResourceError('key', `"${key.slice(0, 100)}" is not Kind/namespace/name`);
  const [kind, namespace, name] = parts as [string, string, string];
  checkKind('key.kind', kind);
  checkName('key.namespace', namespace);
  checkName('key.name', name);
  return { kind, namespace, name };
}

function checkKind(field: string, kind: unknown): asserts kind is string {
  if (typeof kind !== 'string' || kind.length === 0) throw new InvalidResourceError(field, 'is required');
  if (!KIND_RE.test(kind)) {
    throw new InvalidResourceError(field, `"${kind.slice(0, 100)}" must be CamelCase letters and digits, at most 63`);
  }
}

function checkName(field: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidResourceError(field, 'is required');
  if (!NAME_RE.test(name)) {
    throw new InvalidResourceError(field,
      `"${name.slice(0, 100)}" must be lowercase letters, digits, '-' or '.', start and end alphanumeric, at most 253`);
  }
}

// Walks the value; the field path is only spelled out when there is an error to report.
function checkJson(v: unknown, depth: number, limits: ResourceLimits, path: () => string): void {
  if (depth > limits.depthMax) throw new InvalidResourceError(path(), `nested deeper than ${limits.depthMax} levels`);
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InvalidResourceError(path(), 'is not a finite number');
    return;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) checkJson(v[i], depth + 1, limits, () => `${path()}[${i}]`);
    return;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    // An undefined property is an absent one, as JSON.stringify treats it.
    for (const k in v) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) checkJson(x, depth + 1, limits, () => `${path()}.${k}`);
    }
    return;
  }
  throw new InvalidResourceError(path(), `${typeof v} is not a JSON value`);
}

/** Check a field's value sitting `depth` levels down in a resource: JSON, within depthMax. */
export function checkJsonField(value: unknown, depth: number, limits: ResourceLimits, field: string): void {
  checkJson(value, depth, limits, () => field);
}

/** A resource larger than valueBytesMax: an invalid resource (INVALID_ARGUMENT) that says so by its class. */
export class ResourceTooLargeError extends InvalidResourceError {}

// The fields every resource needs, on a value already known to be a plain object. Returns its key
// parts; the namespace is undefined when the value does not name one.
function checkFields(raw: object, limits: ResourceLimits): { kind: string; name: string; namespace: string | undefined } {
  checkJson(raw, 0, limits, () => 'resource');
  const r = raw as Record<string, unknown>;
  if (typeof r.apiVersion !== 'string' || r.apiVersion.length === 0) {
    throw new InvalidResourceError('apiVersion', 'is required');
  }
  if (r.apiVersion.length > 253) throw new InvalidResourceError('apiVersion', 'longer than 253 characters');
  checkKind('kind', r.kind);
  const meta = r.metadata as Record<string, unknown> | undefined;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new InvalidResourceError('metadata', 'is required and must be an object');
  }
  checkName('metadata.name', meta.name);
  if (meta.namespace !== undefined) checkName('metadata.namespace', meta.namespace);
  return { kind: r.kind, name: meta.name, namespace: meta.namespace as string | undefined };
}

function checkBytes(bytes: number, limits: ResourceLimits): void {
  if (bytes > limits.valueBytesMax) {
    throw new ResourceTooLargeError('resource', `${bytes} bytes, larger than the ${limits.valueBytesMax}-byte limit`);
  }
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validate user input (an object, or JSON text) as a resource. The namespace defaults to "default".
 * Returns a normalised copy; the input is not modified.
 */
export function parseResource(input: unknown, limits: ResourceLimits = DEFAULT_RESOURCE_LIMITS): ParsedResource {
  let raw = input;
  if (typeof raw === 'string') {
    if (raw.length > limits.valueBytesMax * 2) {
      throw new ResourceTooLargeError('resource', `larger than ${limits.valueBytesMax} bytes`);
    }
    try {
      raw = JSON.parse(raw);
    } catch (err) {
      throw new InvalidResourceError('resource', `not valid JSON (${(err as Error).message})`);
    }
  }
  if (!isObject(raw)) throw new InvalidResourceError('resource', 'must be a JSON object');
  const { kind, name, namespace = DEFAULT_NAMESPACE } = checkFields(raw, limits);
  const r = raw as Record<string, unknown>;
  // One canonical encoding serves as the size check, the normalised copy and the stored form.
  const canonical = canonicalJson({ ...r, metadata: { ...(r.metadata as object), namespace } });
  checkBytes(Buffer.byteLength(canonical), limits);
  const copy = JSON.parse(canonical) as Record<string, Json> & { metadata: Record<string, Json> };
  return { key: resourceKey(kind, namespace, name), resource: copy as unknown as Resource, canonical };
}

/**
 * Check a value as the store holds it, the normalised form parseResource returns (so the namespace
 * is spelled out), within the same limits; returns its key. For values that did not come from
 * parseResource: replicated records (see replicated-record.ts). `bytesAtMost`, when given, bounds the
 * value's canonical size from above (its record's size): at or below valueBytesMax the value is not
 * encoded again to measure it. Throws InvalidResourceError (ResourceTooLargeError for the size).
 */
export function checkStoredResource(value: unknown, limits: ResourceLimits = DEFAULT_RESOURCE_LIMITS, bytesAtMost = Infinity): string {
  if (!isObject(value)) throw new InvalidResourceError('resource', 'must be a JSON object');
  const { kind, name, namespace } = checkFields(value, limits);
  if (namespace === undefined) throw new InvalidResourceError('metadata.namespace', 'is required in a stored resource');
  if (bytesAtMost > limits.valueBytesMax) checkBytes(Buffer.byteLength(canonicalJson(value)), limits);
  return resourceKey(kind, namespace, name);
}
