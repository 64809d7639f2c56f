import { statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { z } from "zod";
import { LatentflowError } from "../errors.js";
import type { Plan } from "./validate.js";

/**
 * Marks a string param as a file (or folder) the step reads, so a pipeline naming one that is not there is
 * refused before anything runs, with the step, the param and the resolved path (`E_FILE_NOT_FOUND`).
 */
export function inputFile<S extends z.ZodType>(schema: S): S {
  return schema.meta({ ...(schema.meta() ?? {}), inputFile: true }) as S;
}

/** Whether `schema` (through optional/default/nullable wrappers) was marked with {@link inputFile}. */
export function isInputFile(schema: z.ZodType | undefined): boolean {
  for (let s: z.ZodType | undefined = schema, depth = 0; s && depth < 8; depth++) {
    if ((s.meta() as { inputFile?: unknown } | undefined)?.inputFile === true) return true;
    s = (s._zod.def as { innerType?: z.ZodType }).innerType;
  }
  return false;
}

/**
 * Every input file named under a step's `with:` that does not exist, as one error each. Run before a plan
 * runs: a typo in a data path is a problem of the pipeline file (exit 2), not a failed step.
 */
export function missingInputFiles(plan: Plan): LatentflowError[] {
  const errors: LatentflowError[] = [];
  for (const node of plan.nodes) {
    const shape = (node.step.params as { shape?: Record<string, z.ZodType> }).shape;
    if (!shape || !node.params || typeof node.params !== "object") continue;
    for (const [param, schema] of Object.entries(shape)) {
      const value = (node.params as Record<string, unknown>)[param];
      if (typeof value !== "string" || !isInputFile(schema)) continue;
      const path = isAbsolute(value) ? value : resolve(plan.baseDir, value);
      let problem: string | undefined;
      try {
        statSync(path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        problem = code === "ENOENT" ? "there is no such file" : code === "ENOTDIR" ? "a part of the path is a file, not a folder" : `it cannot be read (${code ?? (e as Error).message})`;
      }
      if (!problem) continue;
      const location = node.spec.paramLocs[param] ?? node.spec.loc;
      errors.push(
        new LatentflowError("E_FILE_NOT_FOUND", `step '${node.id}' (${node.uses}): param '${param}' names ${path}, but ${problem}`, {
          hint: isAbsolute(value) ? "check the path" : `relative paths in 'with:' are resolved from the pipeline file's folder (${plan.baseDir})`,
          ...(location ? { location } : {}),
          data: { step: node.id, param, path },
        }),
      );
    }
  }
  return errors;
}
