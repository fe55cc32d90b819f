/**
 * The architecture registry: a typed object literal, so a misspelt name is a compile error.
 * Each entry lives in its own file, one per family.
 */
import type { Architecture } from './types.ts';
import { gruLM, lstmLM, rnnLM } from './rnn.ts';
import { lstmSeq2Seq } from './lstm-seq2seq.ts';
import { swa, transformer, transformerEncDec } from './transformer.ts';
import { mamba, mambaLti } from './mamba.ts';
import { mamba2 } from './mamba2.ts';
import { mlstm } from './mlstm.ts';
import { slstm } from './slstm.ts';
import { hybrid } from './hybrid.ts';
import { hyena } from './hyena.ts';
import { gla } from './gla.ts';

export const ARCHITECTURES = {
  transformer: transformer,
  'transformer-encdec': transformerEncDec,
  swa: swa,
  rnn: rnnLM,
  lstm: lstmLM,
  gru: gruLM,
  'lstm-seq2seq': lstmSeq2Seq,
  mamba: mamba,
  'mamba-lti': mambaLti,
  mamba2: mamba2,
  mlstm: mlstm,
  slstm: slstm,
  hybrid: hybrid,
  hyena: hyena,
  gla: gla,
} satisfies Record<string, Architecture>;

export type ArchitectureName = keyof typeof ARCHITECTURES;
