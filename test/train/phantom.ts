/**
 * TEMPORARY re-export: the phantom cases moved to test/prostate/phantom.ts (test/ mirrors lib/).
 * test/study/study.test.ts still imports this path; delete this file once it imports
 * '../prostate/phantom'.
 */
export * from '../prostate/phantom';
