import { Op, TerraformLocal, TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';

export interface ExampleGuardProps {
  /** The environment file marked `example: true`, named in the error. */
  readonly file: string;
}

/**
 * Makes every `terraform plan` / `apply` (and `cdktf deploy`) of a shipped example fail before anything
 * is created, with a message that says what to do. The examples carry placeholder values (example.com,
 * DigitalOcean's documentation SSH key, example buckets) so that they synthesize on a fresh clone; they must
 * never reach a real account by accident.
 *
 * An output precondition is checked during plan (Terraform >= 1.2). Terraform refuses a condition that
 * refers to nothing ("must refer to at least one object"), so the marker is a local the condition reads.
 */
export class ExampleGuard extends Construct {
  /** The error Terraform prints. */
  readonly errorMessage: string;

  constructor(scope: Construct, id: string, props: ExampleGuardProps) {
    super(scope, id);
    this.errorMessage =
      `${props.file} is a shipped example (example: true): its values are placeholders, so nothing is planned or applied. ` +
      'Put your own domain, SSH key, alert addresses and state bucket in it, delete the line `example: true`, and synthesize again.';
    const marker = new TerraformLocal(this, 'marker', true);
    marker.overrideLogicalId('example_config');
    const output = new TerraformOutput(this, 'guard', {
      value: marker.asBoolean,
      description: 'Fails every plan of a shipped example (config file marked example: true)',
    });
    output.overrideLogicalId('example_config_guard');
    // cdktf 0.21 accepts TerraformOutput's `precondition` prop but never writes it out: set the block directly.
    output.addOverride('precondition', [{ condition: Op.not(marker.asBoolean), error_message: this.errorMessage }]);
  }
}
