import { project } from '@cdktf/provider-digitalocean';
import { Construct } from 'constructs';

export interface ProjectProps {
  /** Prefix of every resource name, e.g. `web-production`. */
  readonly name: string;
  /** DigitalOcean's project environment: Development, Staging or Production. */
  readonly environment: 'Development' | 'Staging' | 'Production';
  /** URNs of the resources to group (droplets, load balancer, database clusters, ...). */
  readonly resources: readonly string[];
}

/** A DigitalOcean project grouping the environment's resources in the control panel and for billing. */
export class Project extends Construct {
  readonly resource: project.Project;

  constructor(scope: Construct, id: string, props: ProjectProps) {
    super(scope, id);
    this.resource = new project.Project(this, 'project', {
      name: props.name,
      description: `Python web app (Nginx + Gunicorn/gevent) and its data stores: ${props.name}`,
      purpose: 'Web Application',
      environment: props.environment,
      resources: [...props.resources],
    });
  }
}
