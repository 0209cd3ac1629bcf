/**
 * A tiny element builder, so that rendering reads like the markup it makes:
 * h('button', {class: 'card', 'data-testid': 'deck', onclick: null}, 'Take').
 *
 * Attributes whose value is null, undefined or false are left out; true gives an empty
 * attribute. Children may be strings, numbers, nodes, arrays of them, or null (skipped).
 * It attaches no event handlers: the app listens once, at the root, for `data-action`.
 */

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (name === 'class' && Array.isArray(value)) {
      const names = value.filter(Boolean).join(' ');
      if (names) el.setAttribute('class', names);
    } else if (name === 'style' && typeof value === 'object') {
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, v);
    } else if (name === 'value' && (tag === 'input' || tag === 'select')) {
      el.value = value;
      el.setAttribute('value', value);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  if (tag === 'select' && attrs && attrs.value != null) el.value = attrs.value;
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}
