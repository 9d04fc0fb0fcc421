// A warden tool written in JavaScript: built with componentize-js (through
// `jco componentize`) against the 0.2.0 `tool` world in wit/0.2.0/; it
// needs nothing warden-specific beyond that world.
//
// Tools:
// - `word_count`: counts the words, lines and characters of a text and
//   names its most frequent words (pure).
// - `fetch_words`: fetches a URL with the standard `fetch()` and counts the
//   words of the body. Only hosts the user granted answer; a refused
//   connection is returned as an error, which the host reports as the
//   `denied` it recorded (capability, target and reason).
//
// Build (see README.md):
//   jco componentize words.js --wit ../../wit/0.2.0 --world-name tool \
//     --disable stdio random clocks -o js_words.wasm

import { log } from 'warden:plugin/log@0.2.0';
import { report } from 'warden:plugin/progress@0.2.0';

const COUNTS_SCHEMA = {
  type: 'object',
  properties: {
    words: { type: 'integer' },
    lines: { type: 'integer' },
    chars: { type: 'integer' },
    top: {
      type: 'array',
      description: 'The most frequent words, most frequent first.',
      items: {
        type: 'object',
        properties: { word: { type: 'string' }, count: { type: 'integer' } },
        required: ['word', 'count'],
      },
    },
  },
  required: ['words', 'lines', 'chars', 'top'],
};

const FETCHED_SCHEMA = {
  type: 'object',
  properties: {
    url: { type: 'string' },
    status: { type: 'integer' },
    ...COUNTS_SCHEMA.properties,
  },
  required: ['url', 'status', ...COUNTS_SCHEMA.required],
};

const TOOLS = {
  word_count: {
    title: 'Count words',
    description:
      'Counts the words, lines and characters of a text and lists its most frequent words.',
    input: {
      type: 'object',
      properties: {
        text: { type: 'string', description: 'The text to count.' },
        top: {
          type: 'integer',
          minimum: 0,
          maximum: 100,
          description: 'How many of the most frequent words to list (default 3).',
        },
      },
      required: ['text'],
      additionalProperties: false,
    },
    output: COUNTS_SCHEMA,
    run: async (args) => counts(stringField(args, 'text'), topField(args)),
  },
  fetch_words: {
    title: 'Count the words of a web page',
    description:
      'Fetches a URL (http or https, from a granted host) and counts the words of its body.',
    input: {
      type: 'object',
      properties: {
        url: { type: 'string', description: 'The URL to fetch.' },
        top: {
          type: 'integer',
          minimum: 0,
          maximum: 100,
          description: 'How many of the most frequent words to list (default 3).',
        },
      },
      required: ['url'],
      additionalProperties: false,
    },
    output: FETCHED_SCHEMA,
    run: fetchWords,
  },
};

// A typed tool error: thrown from an export, the bindings return its
// `payload` as the `err` of `result<tool-result, tool-error>`.
class ToolError extends Error {
  constructor(tag, val) {
    super(typeof val === 'string' ? val : tag);
    this.payload = { tag, val };
  }
}

function stringField(args, name) {
  const value = args[name];
  if (typeof value !== 'string') {
    throw new ToolError('invalid-input', `\`${name}\` must be a string`);
  }
  return value;
}

function topField(args) {
  const top = args.top ?? 3;
  if (!Number.isInteger(top) || top < 0 || top > 100) {
    throw new ToolError('invalid-input', '`top` must be an integer from 0 to 100');
  }
  return top;
}

const PUNCTUATION = /^[!-/:-@[-`{-~]+|[!-/:-@[-`{-~]+$/g;

function counts(text, top) {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const frequency = new Map();
  for (const word of words) {
    // StarlingMonkey's regular expressions have no Unicode property
    // classes (`\p{L}`): trim ASCII punctuation only.
    const key = word.toLowerCase().replace(PUNCTUATION, '');
    if (key) frequency.set(key, (frequency.get(key) ?? 0) + 1);
  }
  const ranked = [...frequency.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, top)
    .map(([word, count]) => ({ word, count }));
  const lines = text === '' ? 0 : text.split(/\r\n|\r|\n/).length - (/(\r\n|\r|\n)$/.test(text) ? 1 : 0);
  // Characters, not UTF-16 code units.
  return { words: words.length, lines, chars: [...text].length, top: ranked };
}

async function fetchWords(args) {
  const url = stringField(args, 'url');
  const top = topField(args);
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new ToolError('invalid-input', `\`url\` is not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ToolError('invalid-input', `\`url\` must be http or https, not ${parsed.protocol}`);
  }
  report(0, 2, `fetching ${parsed.host}`);
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    // The host refuses hosts outside the grant before connecting, and
    // records the denial; it reports that denial in place of this error.
    throw new ToolError('failed', `cannot fetch ${url}: ${e}`);
  }
  const body = await response.text();
  report(1, 2, `read ${body.length} characters`);
  if (response.status === 404) {
    throw new ToolError('not-found', `${url} answered 404`);
  }
  log('info', `fetched ${url}: status ${response.status}, ${body.length} characters`);
  return { url, status: response.status, ...counts(body, top) };
}

export const tools = {
  listTools() {
    return Object.entries(TOOLS).map(([name, tool]) => ({
      name,
      title: tool.title,
      description: tool.description,
      inputSchema: JSON.stringify(tool.input),
      outputSchema: JSON.stringify(tool.output),
      destructive: false,
    }));
  },

  async call(name, input) {
    const tool = Object.hasOwn(TOOLS, name) ? TOOLS[name] : undefined;
    if (!tool) throw new ToolError('unknown-tool', name);
    let args;
    try {
      args = JSON.parse(input);
    } catch (e) {
      throw new ToolError('invalid-input', `the input is not JSON: ${e.message}`);
    }
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      throw new ToolError('invalid-input', 'the input must be a JSON object');
    }
    const output = await tool.run(args);
    return { content: [], structured: JSON.stringify(output) };
  },
};
