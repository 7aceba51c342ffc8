import { ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";

export interface ResultElements {
  readonly panel: HTMLElement;
  readonly call: HTMLElement;
  readonly status: HTMLElement;
  readonly answer: HTMLElement;
  readonly messages: HTMLOListElement;
  readonly error: HTMLElement;
  readonly errorCode: HTMLElement;
  readonly errorMessage: HTMLElement;
}

/** What the panel shows of one call, from its start to its end. */
export interface CallView {
  answered(text: string): void;
  received(text: string): void;
  finished(): void;
  cancelled(): void;
  failed(reason: unknown): void;
}

/**
 * The result panel, showing one call at a time. Once a newer call begins, an
 * older call's view changes nothing, so a superseded stream cannot scribble
 * over the new one.
 */
export function createResultView(el: ResultElements): { begin(method: string, transport: string): CallView } {
  let latest = 0;
  return {
    begin(method, transport) {
      const call = ++latest;
      const started = performance.now();
      const elapsed = () => performance.now() - started;
      let received = 0;
      const show = (state: string, status: string) => {
        el.panel.dataset.state = state;
        el.status.textContent = status;
      };
      const ifLatest =
        <A extends unknown[]>(update: (...args: A) => void) =>
        (...args: A) => {
          if (call === latest) update(...args);
        };

      el.call.textContent = `${method} · ${transport}`;
      el.answer.hidden = true;
      el.messages.replaceChildren();
      el.messages.hidden = true;
      el.error.hidden = true;
      show("running", method === "GetList" ? "Streaming…" : `Calling ${method}…`);

      return {
        answered: ifLatest((text) => {
          el.answer.textContent = text;
          el.answer.hidden = false;
          show("answered", `Answered in ${duration(elapsed())}`);
        }),
        received: ifLatest((text) => {
          el.messages.append(messageItem(received++, text, elapsed()));
          el.messages.hidden = false;
          show("running", `Streaming… ${plural(received, "message")} so far`);
        }),
        finished: ifLatest(() => {
          show("finished", `Stream finished: ${plural(received, "message")} in ${duration(elapsed())}`);
        }),
        cancelled: ifLatest(() => {
          show("cancelled", `Cancelled after ${plural(received, "message")} (${duration(elapsed())})`);
        }),
        failed: ifLatest((reason) => {
          const error = ConnectError.from(reason);
          el.errorCode.textContent = codeToString(error.code);
          el.errorMessage.textContent = error.rawMessage;
          el.error.hidden = false;
          show("failed", `Failed after ${duration(elapsed())}`);
        }),
      };
    },
  };
}

function messageItem(index: number, text: string, atMs: number): HTMLLIElement {
  const item = document.createElement("li");
  item.dataset.atMs = String(Math.round(atMs));
  const parts: [string, string][] = [
    ["index", `#${index}`],
    ["text", text],
    ["time", `+${duration(atMs)}`],
  ];
  for (const [kind, content] of parts) {
    const span = document.createElement("span");
    span.className = kind;
    span.textContent = content;
    item.append(span);
  }
  return item;
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
