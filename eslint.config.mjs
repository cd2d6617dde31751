// Lint for src, test and bench: typescript-eslint's recommended type-checked rules, with formatting left to
// Prettier (eslint-config-prettier turns off the rules it owns). `npm run lint` runs both; `npm test` runs it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.build-cache/', 'recordings-archive/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    rules: {
      // a leading underscore marks a parameter or binding kept on purpose (an interface's, a key left out)
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // an async method that does not await still turns a throw into a rejection, as its interface promises
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // plain JavaScript (configs, the runtime preload): Node's CommonJS, not type-checked
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: globals.node,
      sourceType: 'commonjs',
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  {
    // a JavaScript Function as Twilio's samples write it: the runtime's globals (docs/functions.md)
    files: ['src/functions/**/*.{js,cjs,mjs}', 'test/fixtures/**/*.{js,cjs,mjs}'],
    languageOptions: { globals: { Twilio: 'readonly', Runtime: 'readonly' } },
  },
  {
    // jest's asymmetric matchers (expect.any, objectContaining...) and parsed JSON bodies are typed `any`:
    // the no-unsafe-* family only adds noise there.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  prettier,
);
