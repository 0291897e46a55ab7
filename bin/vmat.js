#!/usr/bin/env node
// Entry point for `npx vmat`: registers the TypeScript loader (tsx) and hands over to lib/cli/main.ts.
'use strict';
require('tsx/cjs/api').register();
require('../lib/cli/main')
  .main(process.argv)
  .catch((err) => {
    const { formatError } = require('../lib/core/errors');
    process.stderr.write(formatError(err) + '\n');
    process.exit(typeof err?.exitCode === 'number' ? err.exitCode : 2);
  });
