/**
 * Module templates: the Go `text/template` dialect of real Lilypad modules (`{{.Message}}`,
 * `{{if}}…{{else}}…{{end}}`, `subst`, `js`, …), rendered through Handlebars to the same bytes as the
 * Go CLI.
 */
export type {TemplateInput} from './analyze.js'
export {goJsonString} from './go-json.js'
export {
  type CompiledTemplate,
  type CompileTemplateOptions,
  compileModuleTemplate,
  DEFAULT_TEMPLATE_NAME,
  type RenderedTemplate,
} from './render.js'
