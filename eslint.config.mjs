// One lint config for lib/, bin/, bench/, scripts/ and test/ (checked in the test suite).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import jsdoc from 'eslint-plugin-jsdoc';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'build/',
      'native/build/',
      'dist/',
      'runs/',
      'predictions/',
      'figures/',
      'data/',
      'studies/*/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        __filename: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        queueMicrotask: 'readonly',
        globalThis: 'readonly',
        AbortController: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'smart'],
      'prefer-const': 'error',
    },
  },
  {
    // doc comments on every exported function, class and constant of lib/ (issue 15: what it does,
    // units and array shapes); methods, interfaces and types are not enforced
    files: ['lib/**/*.ts'],
    plugins: { jsdoc },
    rules: {
      'jsdoc/require-jsdoc': [
        'error',
        {
          publicOnly: true,
          require: {
            FunctionDeclaration: true,
            ClassDeclaration: true,
            ArrowFunctionExpression: true,
            FunctionExpression: true,
          },
          contexts: ['ExportNamedDeclaration > VariableDeclaration'],
        },
      ],
    },
  },
  {
    // TEMPORARY: folders other helpers are still changing (perf, study); the lead removes this
    // override after merging them, and their exports then need doc comments too
    files: [
      'lib/engine/**',
      'lib/eval/gamma*.ts',
      'lib/stats/**',
      'lib/study/**',
      'lib/cli/commands/bench.ts',
      'lib/cli/commands/gamma.ts',
      'lib/cli/commands/study.ts',
    ],
    rules: { 'jsdoc/require-jsdoc': 'off' },
  },
  {
    // tests read JSON fixtures loosely and load modules lazily
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
