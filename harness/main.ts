/** The CLI as a program: `seqarena …` (bin/seqarena.js, and the bundle scripts/gpu-pack.sh builds). */
import { main } from './cli.ts';

process.exitCode = await main(process.argv);
