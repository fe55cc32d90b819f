/**
 * The architecture registry: a typed object literal, so a misspelt name is a compile error.
 * Each entry lives in its own file, one per family.
 */
import type { Architecture } from './types.ts';

export const ARCHITECTURES = {
} satisfies Record<string, Architecture>;

export type ArchitectureName = keyof typeof ARCHITECTURES;
