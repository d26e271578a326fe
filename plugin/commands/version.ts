import { Command } from "@oclif/core";
import { PRODUCT_VERSION } from "../../src/names.js";

export default class Version extends Command {
  static override description = "Print the version of kubectl-coredog";
  static override examples = ["<%= config.bin %> version"];

  async run(): Promise<void> {
    await this.parse(Version);
    this.log(`kubectl-coredog ${PRODUCT_VERSION}`);
  }
}
