import { expect, type Locator, type Page } from "@playwright/test";

/** Each `<option>` of the page, and the content type it puts on the wire. */
export const transports = [
  { label: "Connect (JSON)", contentType: "application/json" },
  { label: "Connect (binary)", contentType: "application/proto" },
  { label: "gRPC-Web", contentType: "application/grpc-web+proto" },
] as const;

export type TransportLabel = (typeof transports)[number]["label"];

/** The server's pause between GetList messages (playwright.config.ts). */
export const getListIntervalMs = 300;

/** The page at `/`, found as a person finds its parts: by their labels, roles and names. */
export class SimpleTestPage {
  readonly name: Locator;
  readonly transport: Locator;
  readonly getOne: Locator;
  readonly getList: Locator;
  readonly cancel: Locator;
  readonly server: Locator;
  /** The call the result panel shows, e.g. `GetOne · gRPC-Web`. */
  readonly call: Locator;
  readonly status: Locator;
  readonly answer: Locator;
  readonly streamed: Locator;
  readonly alert: Locator;
  readonly errorCode: Locator;

  constructor(readonly page: Page) {
    this.name = page.getByLabel("Name");
    this.transport = page.getByLabel("Transport");
    this.getOne = page.getByRole("button", { name: "GetOne" });
    this.getList = page.getByRole("button", { name: "GetList" });
    this.cancel = page.getByRole("button", { name: "Cancel" });
    this.server = page.locator("#server");
    this.call = page.locator("#result-call");
    this.status = page.getByRole("status");
    this.answer = page.locator("#result-answer");
    this.streamed = page.getByRole("list", { name: "Streamed messages" }).getByRole("listitem");
    this.alert = page.getByRole("alert");
    this.errorCode = page.locator("#result-error-code");
  }

  /** Loads the page from `url` (the server under test by default), under its CSP, with `transport` chosen. */
  async open(transport: TransportLabel, url = "/"): Promise<void> {
    const response = await this.page.goto(url);
    expect(response?.headers()["content-security-policy"]).toMatch(/default-src 'self'/);
    await this.transport.selectOption({ label: transport });
  }

  /** The status line's texts from now on, each as the page showed it, in order. */
  async recordStatuses(): Promise<() => Promise<string[]>> {
    const handle = await this.status.evaluateHandle((status) => {
      const seen: string[] = [];
      new MutationObserver((records) => {
        for (const record of records) {
          for (const node of record.addedNodes) seen.push(node.textContent ?? "");
        }
      }).observe(status, { childList: true });
      return seen;
    });
    return () => handle.jsonValue();
  }

  /** When each streamed message was shown, in ms since its call began (the page notes it on each item). */
  shownAtMs(): Promise<number[]> {
    return this.streamed.evaluateAll((items) => items.map((item) => Number((item as HTMLElement).dataset.atMs)));
  }
}
