/**
 * Keeps a comment under GitHub's size limit (65,536 characters per issue comment body). A
 * preview that is too long is cut at a line boundary, an open code block or <details> is
 * closed, and a note says how much was cut and which sections it held, so a reader knows what
 * is missing and where to find the whole (the job summary).
 */
export const GITHUB_COMMENT_LIMIT = 65_536;

export interface Trimmed {
  readonly body: string;
  /** Characters of the original left out (0: nothing cut). */
  readonly cut: number;
  /** Headings of the sections cut entirely or in part, in order. */
  readonly sections: string[];
}

const HEADING = /^#{1,6} (.+)$/;

/** `text` unchanged when it fits in `limit`, else cut with a note (the result fits). */
export function trimForComment(text: string, limit = GITHUB_COMMENT_LIMIT, whereFull = 'the job summary'): Trimmed {
  if (text.length <= limit) return { body: text, cut: 0, sections: [] };
  const lines = text.split('\n');
  // Room for the note and the closers; generous so the note's own numbers never overflow.
  const budget = limit - 1200;
  let kept = 0;
  let size = 0;
  while (kept < lines.length && size + lines[kept]!.length + 1 <= budget) size += lines[kept++]!.length + 1;
  const head = lines.slice(0, kept);
  const rest = lines.slice(kept);
  let current: string | undefined;
  for (const l of head) current = HEADING.exec(l)?.[1] ?? current;
  const sections = [...(current && rest.length && !HEADING.test(rest[0] ?? '') ? [`${current} (part)`] : []), ...rest.map((l) => HEADING.exec(l)?.[1]).filter((h): h is string => !!h)];
  const closers: string[] = [];
  if (head.filter((l) => /^```/.test(l)).length % 2 === 1) closers.push('```');
  const opened = head.filter((l) => l.includes('<details>')).length - head.filter((l) => l.includes('</details>')).length;
  for (let i = 0; i < opened; i++) closers.push('', '</details>');
  const cut = text.length - head.join('\n').length;
  const note = [
    '',
    `> ✂️ **Trimmed**: this preview is ${text.length.toLocaleString('en')} characters and a GitHub comment holds ${limit.toLocaleString('en')}; ` +
      `the last ${cut.toLocaleString('en')} characters were cut${sections.length ? ` (${sections.join('; ')})` : ''}. The whole preview is in ${whereFull}.`,
    '',
  ];
  const body = [...head, ...closers, ...note].join('\n');
  return { body, cut, sections };
}
