/**
 * Game renderers: one module per game, `games/<name>.js`, loaded on demand by the game a room
 * plays (`table.game`) with a dynamic `import()`. See README.md, "Adding a game's renderer",
 * for what a renderer exports.
 *
 * A renderer may name a stylesheet of its own (`stylesheet`, a URL); it is added to the page
 * once, and the renderer counts as loaded when the stylesheet is, so that the first drawing of
 * a table is already styled. A game this client has no renderer for gets `fallbackRenderer`:
 * the room still works (seats, log, leaving), only the game is not drawn.
 */

import { h } from './dom.js';

const loaded = new Map(); // name -> renderer
const loading = new Map(); // name -> Promise<renderer>
const STYLESHEET_WAIT_MS = 3000;

/** Game names are the registry's: lowercase letters, digits and '_' (schema/defs.json). */
const GAME_NAME = /^[a-z][a-z0-9_]{0,31}$/;

/** The renderer of `name` if it is already loaded, else null (see `loadRenderer`). */
export function rendererFor(name) {
  return loaded.get(name) || null;
}

function addStylesheet(href) {
  if (!href || typeof document === 'undefined') return Promise.resolve();
  const url = String(href);
  if ([...document.querySelectorAll('link[rel="stylesheet"]')].some((l) => l.href === url)) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = url;
    link.dataset.game = 'true';
    const done = () => resolve();
    link.addEventListener('load', done);
    link.addEventListener('error', done); // a missing stylesheet only costs looks
    setTimeout(done, STYLESHEET_WAIT_MS);
    document.head.appendChild(link);
  });
}

/**
 * Load the renderer of game `name` (once; later calls share the same promise). Resolves with
 * the module's default export, or with `fallbackRenderer(name)` when there is none.
 */
export function loadRenderer(name) {
  if (loaded.has(name)) return Promise.resolve(loaded.get(name));
  if (loading.has(name)) return loading.get(name);
  const promise = (async () => {
    let renderer;
    try {
      if (!GAME_NAME.test(String(name))) throw new Error(`not a game name: ${name}`);
      const module = await import(`./games/${name}.js`);
      renderer = module.default;
      if (!renderer || typeof renderer.renderGameState !== 'function') {
        throw new Error(`games/${name}.js has no renderer`);
      }
      await addStylesheet(renderer.stylesheet);
    } catch (err) {
      // eslint-disable-next-line no-console
      console.warn(`No renderer for game ${name}:`, err);
      renderer = fallbackRenderer(name);
    }
    loaded.set(name, renderer);
    loading.delete(name);
    return renderer;
  })();
  loading.set(name, promise);
  return promise;
}

/** A stand-in for a game this client cannot draw: it says so, and the room still works. */
export function fallbackRenderer(name) {
  return {
    name,
    title: name,
    rules: 'This page cannot show this game yet. Reload the page after an update.',
    seatInfo: () => null,
    renderGameState(state, ctx) {
      return {
        status: `${ctx.info.title || name} is being played; this page cannot show it yet.`,
        centre: h('div', { class: 'centre waiting-note', 'data-testid': 'no-renderer' },
          h('p', null, `This page cannot show ${ctx.info.title || name} yet.`)),
      };
    },
    describeMove: () => null,
    handleAction: () => null,
  };
}
