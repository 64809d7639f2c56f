import { z } from "zod";
import { LatentflowError, type RowMeta } from "@latentflow/core";
import type { IndexFilter } from "@latentflow/core";

/** A JSON scalar a filter can compare with. */
export type FilterScalar = string | number | boolean | null;

/** Operators on one field. Several operators on one field must all hold. */
export interface FieldCondition {
  eq?: FilterScalar;
  ne?: FilterScalar;
  in?: FilterScalar[];
  nin?: FilterScalar[];
  gt?: number | string;
  gte?: number | string;
  lt?: number | string;
  lte?: number | string;
  exists?: boolean;
}

/**
 * A declarative metadata filter, as written in pipeline YAML: `{ label: 3 }`, `{ label: { in: [1, 2] } }`,
 * `{ year: { gte: 1990 }, lang: en }`. Fields are AND-ed; `$or`, `$and` and `$not` combine filters;
 * `$id` matches the item id; `a.b` reaches into nested meta.
 */
export type MetaFilter = {
  $and?: MetaFilter[];
  $or?: MetaFilter[];
  $not?: MetaFilter;
} & { [field: string]: FilterScalar | FieldCondition | MetaFilter[] | MetaFilter | undefined };

const OPERATORS = ["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "exists"] as const;
type Operator = (typeof OPERATORS)[number];
const COMBINATORS = ["$and", "$or", "$not"];

type Test = (id: string, meta: RowMeta | undefined) => boolean;

function fail(path: string, message: string): never {
  throw new LatentflowError("E_FILTER", `filter ${path || "(root)"}: ${message}`, {
    hint: "write a field and a value ({ label: 3 }) or operators ({ label: { in: [1, 2] } }, { year: { gte: 1990 } }); combine with $or, $and, $not",
  });
}

function isScalar(v: unknown): v is FilterScalar {
  return v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function lookup(field: string, id: string, meta: RowMeta | undefined): unknown {
  if (field === "$id") return id;
  let v: unknown = meta;
  for (const part of field.split(".")) {
    if (!isPlainObject(v)) return undefined;
    v = v[part];
  }
  return v;
}

// Ordering compares numbers with numbers and strings with strings only; anything else never matches.
function ordered(a: unknown, b: number | string, op: "gt" | "gte" | "lt" | "lte"): boolean {
  if (typeof a !== typeof b || (typeof a !== "number" && typeof a !== "string")) return false;
  const x = a as number | string;
  switch (op) {
    case "gt":
      return x > b;
    case "gte":
      return x >= b;
    case "lt":
      return x < b;
    case "lte":
      return x <= b;
  }
}

function compileCondition(field: string, cond: Record<string, unknown>, path: string): Test {
  const tests: ((v: unknown) => boolean)[] = [];
  for (const [op, arg] of Object.entries(cond)) {
    const where = `${path}.${op}`;
    if (!OPERATORS.includes(op as Operator)) fail(where, `unknown operator '${op}', expected one of ${OPERATORS.join(", ")}`);
    switch (op as Operator) {
      case "eq":
      case "ne": {
        if (!isScalar(arg)) fail(where, `expected a string, number, boolean or null, found ${JSON.stringify(arg)}`);
        tests.push(op === "eq" ? (v) => v === arg : (v) => v !== arg);
        break;
      }
      case "in":
      case "nin": {
        if (!Array.isArray(arg) || !arg.every(isScalar)) fail(where, `expected a list of scalars, found ${JSON.stringify(arg)}`);
        const set = new Set<unknown>(arg);
        tests.push(op === "in" ? (v) => set.has(v) : (v) => !set.has(v));
        break;
      }
      case "gt":
      case "gte":
      case "lt":
      case "lte": {
        if (typeof arg !== "number" && typeof arg !== "string") fail(where, `expected a number or string, found ${JSON.stringify(arg)}`);
        const o = op as "gt" | "gte" | "lt" | "lte";
        tests.push((v) => ordered(v, arg, o));
        break;
      }
      case "exists": {
        if (typeof arg !== "boolean") fail(where, `expected true or false, found ${JSON.stringify(arg)}`);
        tests.push(arg ? (v) => v !== undefined : (v) => v === undefined);
        break;
      }
    }
  }
  if (tests.length === 0) fail(path, "expected at least one operator");
  return (id, meta) => {
    const v = lookup(field, id, meta);
    for (const t of tests) if (!t(v)) return false;
    return true;
  };
}

function compileNode(filter: unknown, path: string): Test {
  if (!isPlainObject(filter)) fail(path, `expected an object of field conditions, found ${JSON.stringify(filter)}`);
  const tests: Test[] = [];
  for (const [key, value] of Object.entries(filter)) {
    const where = path ? `${path}.${key}` : key;
    if (key === "$and" || key === "$or") {
      if (!Array.isArray(value) || value.length === 0) fail(where, "expected a non-empty list of filters");
      const parts = value.map((f, i) => compileNode(f, `${where}[${i}]`));
      tests.push(key === "$and" ? (id, m) => parts.every((t) => t(id, m)) : (id, m) => parts.some((t) => t(id, m)));
    } else if (key === "$not") {
      const inner = compileNode(value, where);
      tests.push((id, m) => !inner(id, m));
    } else if (key.startsWith("$") && key !== "$id") {
      fail(where, `unknown combinator '${key}', expected one of ${COMBINATORS.join(", ")} (or the field $id)`);
    } else if (isScalar(value)) {
      tests.push((id, m) => lookup(key, id, m) === value);
    } else if (isPlainObject(value)) {
      tests.push(compileCondition(key, value, where));
    } else {
      fail(where, `expected a value or an object of operators, found ${JSON.stringify(value)}`);
    }
  }
  if (tests.length === 1) return tests[0]!;
  return (id, m) => {
    for (const t of tests) if (!t(id, m)) return false;
    return true;
  };
}

/** Compiles a declarative filter into a predicate; throws E_FILTER naming the bad part. `{}` matches everything. */
export function compileFilter(filter: MetaFilter | Record<string, unknown>): IndexFilter {
  return compileNode(filter, "");
}

/**
 * The `filter` param of pipeline steps: a declarative filter, checked when the pipeline is validated
 * (an unknown operator is reported before anything runs).
 */
export const filterParam = z
  .record(z.string(), z.unknown())
  .superRefine((f, ctx) => {
    try {
      compileFilter(f);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: e instanceof Error ? e.message : String(e) });
    }
  })
  .describe("metadata filter, e.g. { label: 3 }, { label: { in: [1, 2] } }, { year: { gte: 1990 } }; fields AND-ed, $or/$and/$not combine");
