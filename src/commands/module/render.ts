import {Args} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag, inputFlag} from '../../cli/flags.js'
import {childProcessEnv} from '../../core/config/index.js'
import {parseInputs} from '../../core/module/inputs.js'
import {renderModule} from '../../core/module/render-module.js'
import {writeStderr} from '../../ui/errors.js'
import {describeModuleEvent, formatTemplateInputs} from '../../ui/render/module.js'

/** `--json` result of `module render`. */
export interface ModuleRenderResult {
  repo: string
  ref: string
  commit: string
  inputs: Record<string, string>
  templateInputs: {name: string; required: boolean}[]
  rendered: unknown
}

export default class ModuleRender extends LilypadCommand<ModuleRenderResult> {
  static override summary = 'Resolve, render and validate a module, and print its job spec (a dry run).'
  static override description =
    'Resolves the module ref to a commit, renders lilypad_module.json.tmpl with the inputs exactly as the Lilypad network does, validates the result and prints it. Nothing is submitted.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> cowsay:v0.0.3 -i Message=hi',
    '<%= config.bin %> <%= command.id %> github.com/Lilypad-Tech/lilypad-module-lilysay:0.5.2 -i Message=hello --json',
    '<%= config.bin %> <%= command.id %> file:///src/my-module:main',
  ]
  static override hiddenAliases = ['modules:render']
  static override args = {
    module: Args.string({
      required: true,
      description: 'Module ref: NAME:REF, HOST/OWNER/REPO:REF or a git URL with :REF.',
    }),
  }
  static override flags = {input: inputFlag, 'data-dir': dataDirFlag}

  /** The rendered text, printed as is for humans. */
  private text = ''

  protected async execute(): Promise<ModuleRenderResult> {
    const {args, flags} = await this.parse(ModuleRender)
    const inputs = parseInputs(flags.input)
    const config = await this.loadConfig(flags)
    const result = await renderModule(args.module, inputs, {
      config,
      env: childProcessEnv(),
      signal: this.abortController.signal,
      onEvent: (event) => {
        if (event.type === 'module.ref-moved' || event.type === 'module.offline')
          this.addWarning(describeModuleEvent(event))
        else this.reporter.step(describeModuleEvent(event))
      },
    })
    for (const warning of result.warnings) this.addWarning(`${warning.pointer}: ${warning.message}`)
    if (Object.keys(inputs).length === 0 && result.templateInputs.length > 0 && !this.jsonEnabled()) {
      writeStderr(formatTemplateInputs(result.templateInputs))
    }
    this.text = result.text
    return {
      repo: result.ref.repoUrl,
      ref: result.ref.ref,
      commit: result.commit,
      inputs: {...inputs},
      templateInputs: result.templateInputs.map(({name, required}) => ({name, required})),
      rendered: result.rendered,
    }
  }

  protected renderHuman(): string {
    return this.text
  }
}
