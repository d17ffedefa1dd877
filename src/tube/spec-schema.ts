/**
 * zod schema of the raw tube specification (what the YAML / JSON file holds).
 * @module
 */
import { z } from "zod";

const dependsItem = z.union([z.string(), z.record(z.string(), z.string())]);

/** `depends`: a scalar source, a list (positional and/or single-key maps) or a map of slot → source. */
export const dependsSchema = z.union([z.string(), z.array(dependsItem), z.record(z.string(), z.string())]);

/** One node entry. */
export const nodeSchema = z
  .object({
    // Optional here because a node in an `extends` child may only override some fields.
    type: z.string().min(1).optional(),
    depends: dependsSchema.optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    enabled: z.boolean().optional(),
    stateful: z.boolean().optional(),
    signals: z.array(z.string()).optional(),
    optional: z.array(z.string()).optional(),
    description: z.string().optional(),
  })
  .strict();

/** One input entry. */
export const inputSchema = z
  .object({
    type: z.string().optional(),
    scope: z.enum(["tube", "process"]).optional(),
    default: z.unknown().optional(),
    required: z.boolean().optional(),
    description: z.string().optional(),
  })
  .strict();

/** One asset entry. */
export const assetSchema = z
  .object({
    type: z.string().min(1),
    scope: z.enum(["runner", "process", "node"]).optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    depends: z.string().optional(),
    description: z.string().optional(),
  })
  .strict();

/** The whole file. */
export const tubeFileSchema = z
  .object({
    noob_id: z.string().optional(),
    tube_id: z.string().optional(),
    description: z.string().optional(),
    extends: z.union([z.string(), z.array(z.string())]).optional(),
    input: z.record(z.string(), inputSchema).optional(),
    assets: z.record(z.string(), assetSchema).optional(),
    nodes: z.record(z.string(), nodeSchema.nullable()).optional(),
  })
  .strict();

/** The raw file, as parsed. */
export type TubeFile = z.infer<typeof tubeFileSchema>;
/** One raw node entry. */
export type RawNode = z.infer<typeof nodeSchema>;
