/**
 * The paper-findings suites, one file each (as zoology keeps one experiment per file), with what they share in common.ts. Each reproduces one published result, in miniature at `--scale cpu` (a
 * suite finishes within an hour on 2 cores) and at the published settings at `--scale paper` (for a
 * GPU), and writes the result's expected outcome as findings: checks on the suite's rows, shown in the
 * report as held / not held / not judged. A finding that does not hold is reported, never hidden, and
 * never fails CI.
 *
 *   selective-copying  Gu & Dao 2023 (Mamba), §4.1.1, Table 1
 *   induction-heads    Gu & Dao 2023 (Mamba), §4.1.2, Table 11
 *   mqar               Arora et al. 2023 (Zoology), Figure 2
 *   scan               Lake & Baroni 2018, Experiments 1 and 2
 *   efficiency         Gu & Dao 2023 (Mamba), §4.5 and Figure 8, in miniature
 *
 * Each suite is a function from scale to named run specs (so a finding can find the rows of "the LTI
 * model" by its config hash), and its findings read those specs at the scale that ran.
 */
export { selectiveCopyingSuite } from './selective-copying.ts';
export { inductionHeadsSuite } from './induction-heads.ts';
export { mqarSuite } from './mqar.ts';
export { scanSuite } from './scan.ts';
export { efficiencySuite } from './efficiency.ts';
