/**
 * TEMPORARY re-export: the notebook test helpers moved to test/notebook/helpers.ts (test/ mirrors
 * lib/). test/study/slurm.test.ts still imports this path; delete this file once it imports
 * '../notebook/helpers'.
 */
export * from '../notebook/helpers';
