// Lint rules for the whole workspace. The module-boundary rule below is the
// import graph of docs/ARCHITECTURE.md: a lib may only import the libs listed
// for its scope, and strategies never see tfjs, sharp or socket.io.
import nx from '@nx/eslint-plugin';

const frameworkFree = ['@tensorflow/*', 'sharp', 'socket.io', 'socket.io-client', 'better-sqlite3'];
// Evaluation renders its report charts to PNG with sharp; it stays free of tfjs, sockets and the store.
const evaluationFree = ['@tensorflow/*', 'socket.io', 'socket.io-client', 'better-sqlite3'];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    ignores: ['**/node_modules/**', '**/dist/**', '**/.nx/**', '**/runs/**', '**/.cache/**', '**/*.js', '**/*.mjs', '**/*.cjs'],
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-empty-function': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            // runtime is the leaf every project may import: it imports no other lib, and no framework
            { sourceTag: 'scope:runtime', onlyDependOnLibsWithTags: ['scope:none'], bannedExternalImports: frameworkFree },
            { sourceTag: 'scope:protocol', onlyDependOnLibsWithTags: ['scope:runtime'], bannedExternalImports: frameworkFree },
            { sourceTag: 'scope:evaluation', onlyDependOnLibsWithTags: ['scope:runtime'], bannedExternalImports: evaluationFree },
            { sourceTag: 'scope:aggregation', onlyDependOnLibsWithTags: ['scope:runtime', 'scope:protocol'], bannedExternalImports: frameworkFree },
            // Secure aggregation and differential privacy: node:crypto only.
            { sourceTag: 'scope:secure', onlyDependOnLibsWithTags: ['scope:runtime', 'scope:protocol'], bannedExternalImports: frameworkFree },
            { sourceTag: 'scope:model', onlyDependOnLibsWithTags: ['scope:runtime', 'scope:protocol', 'scope:evaluation'] },
            { sourceTag: 'scope:data', onlyDependOnLibsWithTags: ['scope:runtime', 'scope:protocol', 'scope:evaluation'] },
            {
              sourceTag: 'scope:coordinator',
              onlyDependOnLibsWithTags: ['scope:runtime', 'scope:protocol', 'scope:aggregation', 'scope:evaluation', 'scope:model', 'scope:secure'],
            },
            {
              sourceTag: 'scope:hospital',
              onlyDependOnLibsWithTags: ['scope:runtime', 'scope:protocol', 'scope:model', 'scope:data', 'scope:evaluation', 'scope:secure'],
            },
            {
              sourceTag: 'scope:simulation',
              onlyDependOnLibsWithTags: ['scope:runtime', 'scope:coordinator', 'scope:hospital', 'scope:data', 'scope:evaluation', 'scope:protocol', 'scope:secure'],
            },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:util', 'type:data', 'type:feature'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:util', 'type:data', 'type:feature'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:util', 'type:data', 'type:feature'] },
          ],
        },
      ],
    },
  },
];
