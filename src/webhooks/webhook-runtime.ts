// What signing and sending need, built once per configuration: the secret box (its key is
// loaded on first use) and the sender with its address filter. The routes' use cases and the
// delivery job (which gets only the config) share one per app.

import type { Config } from '../config.js';
import { SecretBox } from './secret-box.js';
import { WebhookSender } from './webhook-sender.js';

export interface WebhookRuntime {
  readonly secrets: SecretBox;
  readonly sender: WebhookSender;
}

const runtimes = new WeakMap<Config, WebhookRuntime>();

export function webhookRuntime(config: Config): WebhookRuntime {
  let runtime = runtimes.get(config);
  if (!runtime) {
    runtime = { secrets: SecretBox.fromConfig(config), sender: new WebhookSender(config.webhooks) };
    runtimes.set(config, runtime);
  }
  return runtime;
}
