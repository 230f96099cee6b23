import { ESLint } from 'eslint';

/**
 * ESLint with the repository's config, for linting planted snippets at paths that do not exist.
 * `untyped` turns the type-aware parser off (the project service only knows files on disk, and
 * starting it costs seconds) and with it the one typed rule; `typed` lets the planted
 * `Example.ts` files into a default project so the typed rule runs on them.
 */
export function lintWith(mode: 'untyped' | 'typed'): ESLint {
  if (mode === 'untyped') {
    return new ESLint({
      overrideConfig: {
        languageOptions: { parserOptions: { projectService: false } },
        rules: { '@typescript-eslint/no-floating-promises': 'off' },
      },
    });
  }
  return new ESLint({
    overrideConfig: {
      languageOptions: {
        parserOptions: { projectService: { allowDefaultProject: ['server/*/Example.ts', 'simulator/*/Example.ts', 'bin/*/Example.ts'] } },
      },
    },
  });
}

/** The messages of one rule for `code` linted as if it were the file at `filePath`. */
export async function ruleMessages(eslint: ESLint, code: string, filePath: string, ruleId: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  const fatal = result!.messages.filter((m) => m.fatal);
  if (fatal.length > 0) throw new Error(`${filePath}: ${fatal.map((m) => m.message).join('; ')}`);
  return result!.messages.filter((m) => m.ruleId === ruleId).map((m) => m.message);
}
