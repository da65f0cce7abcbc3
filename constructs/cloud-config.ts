/**
 * A typed cloud-config document and its YAML serialization.
 *
 * cloud-config is built as data and serialized by a YAML library, never text-templated: text-templated
 * user data drifts from cloud-init's schema (lima-vm issue #2265), and an unquoted `permissions: 0644`
 * becomes the integer 420. The interfaces cover the keys this project uses, with cloud-init 22.4's
 * names and types (cloudinit/config/schemas/schema-cloud-config-v1.json). Escaping for Terraform is not
 * done here: it happens once, where the text enters Terraform.
 */
import { Document, Scalar, isScalar, isSeq, visit } from 'yaml';

/** A file mode as cloud-init wants it: an octal string such as '0644' (a YAML integer would be decimal). */
export type FileMode = `0${number}`;

/** One entry of `write_files` (cloud-init module write_files). */
export interface CloudConfigWriteFile {
  readonly path: string;
  readonly content: string;
  /** `user:group`. @default 'root:root' */
  readonly owner?: string;
  /** @default '0644' */
  readonly permissions?: FileMode;
  /** How `content` is encoded; gz+b64 shrinks large files inside the 64 KiB user data. @default plain text */
  readonly encoding?: 'b64' | 'gz+b64';
  /** Append instead of replacing. @default false */
  readonly append?: boolean;
  /**
   * Write in the final stage, after packages are installed and users created (write-files-deferred).
   * Needed for files owned by a user cloud-init creates, and files in a package's directories.
   * @default false - written in the init stage, before users-groups and packages
   */
  readonly defer?: boolean;
}

/** A user to create (cloud-init module users_groups). */
export interface CloudConfigUser {
  readonly name: string;
  /** A system account: no aging, uid below UID_MIN. */
  readonly system?: boolean;
  readonly primary_group?: string;
  readonly groups?: readonly string[];
  readonly homedir?: string;
  readonly no_create_home?: boolean;
  readonly shell?: string;
  readonly lock_passwd?: boolean;
  readonly gecos?: string;
}

/** A command: a string runs through `sh`; an argv list is quoted by cloud-init, so values need no escaping. */
export type CloudConfigCommand = string | readonly string[];

/** The top-level keys this project uses. */
export interface CloudConfig {
  /** Run `apt-get update` before installing packages. */
  readonly package_update?: boolean;
  readonly package_upgrade?: boolean;
  readonly packages?: readonly string[];
  /** Groups to create; `{ name: [members] }` adds members. */
  readonly groups?: readonly (string | Readonly<Record<string, readonly string[]>>)[];
  /** Users to create; `'default'` keeps the image's default user. */
  readonly users?: readonly ('default' | CloudConfigUser)[];
  readonly write_files?: readonly CloudConfigWriteFile[];
  /** Commands on every boot, early in the init stage. */
  readonly bootcmd?: readonly CloudConfigCommand[];
  /** Commands once per instance, at the end of the final stage. */
  readonly runcmd?: readonly CloudConfigCommand[];
  readonly final_message?: string;
}

/**
 * Serialize a cloud-config to user data: `#cloud-config` on the first line (cloud-init reads the type
 * from it), then YAML with multi-line strings as block literals (files read as files) and no folding.
 * Strings YAML 1.1 would read as something else (`0644`, `yes`, `on`) are quoted: cloud-init parses with
 * PyYAML, a YAML 1.1 parser.
 * @param comment optional comment lines after `#cloud-config`, e.g. where the document comes from
 */
export function toCloudConfigYaml(config: CloudConfig, comment?: string): string {
  const doc = new Document(config, { version: '1.1' });
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string') return;
      if (node.value.includes('\n')) node.type = Scalar.BLOCK_LITERAL;
    },
    Seq(_key, node, path) {
      // An argv list inside runcmd/bootcmd reads best on one line: `- [systemctl, restart, nginx]`.
      if (isSeq(path[path.length - 1])) node.flow = true;
    },
    Pair(_key, pair) {
      // Modes read best, and unambiguously, as quoted octal strings.
      if (isScalar(pair.key) && pair.key.value === 'permissions' && isScalar(pair.value)) pair.value.type = Scalar.QUOTE_SINGLE;
    },
  });
  if (comment) doc.commentBefore = comment.split('\n').map((line) => ` ${line}`).join('\n');
  return `#cloud-config\n${doc.toString({ lineWidth: 0, directives: false, flowCollectionPadding: false })}`;
}
