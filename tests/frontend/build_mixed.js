// Builds the "mixed" test workflow inside the real ComfyUI frontend, through its LiteGraph API,
// and returns {workflow, output}: the workflow as the frontend exports it (app.graphToPrompt().workflow,
// what Workflow > Export writes) and the API export of the graph as built. Evaluated by capture.py with page.evaluate(); the page has booted.
//
// Root graph:
//   CheckpointLoaderSimple --MODEL--> [Sampling] subgraph (see below)
//   PrimitiveNode "Width" (frontend widget primitive) --> EmptyLatentImage.width
//   PrimitiveInt (MUTED, mode 2) --> EmptyLatentImage.batch_size   (a widget input)
//   EmptyLatentImage --> [Sampling].latent_image
//   PrimitiveStringMultiline --> [Sampling].text_1 --> [Prompt].text_1 --> negative CLIPTextEncode.text
//   [Sampling].LATENT --> KSampler "Refine (bypassed)" (BYPASSED, mode 4; its model input is linked
//       too, so the same-slot input has the wrong type and the LATENT input is found by type)
//       --> VAEDecode.samples;  CheckpointLoaderSimple.VAE --> Reroute --> VAEDecode.vae
//   VAEDecode --> ResizeImageMaskNode (dynamic combo: resize_type "scale dimensions" + sub-inputs)
//       --> ImageStitch.image1;  EmptyImage (MUTED) --> ImageStitch.image2 (optional, link only)
//       --> SaveImage
//   Note, MarkdownNote
// [Sampling] subgraph: Reroute (subgraph input "model" --> Reroute --> KSampler.model), KSampler
//   (seed promoted to the instance and left unconnected: the instance's value is used;
//   control_after_generate "randomize"), PrimitiveInt (MUTED) --> KSampler.steps, a Note, and the
//   nested [Prompt] subgraph: two CLIPTextEncode (positive text promoted through both levels and
//   left unconnected; negative text linked from the root) and a BYPASSED ConditioningZeroOut.
async () => {
  const LG = window.LiteGraph
  const app = window.app
  const root = app.rootGraph ?? app.graph
  root.clear()

  const add = (graph, type, pos, values = {}, extra = {}) => {
    const node = LG.createNode(type)
    if (!node) throw new Error(`cannot create ${type}`)
    node.pos = pos
    graph.add(node)
    for (const [name, value] of Object.entries(values)) setWidget(node, name, value)
    Object.assign(node, extra)
    return node
  }
  const setWidget = (node, name, value) => {
    const widget = (node.widgets ?? []).find((w) => w.name === name)
    if (!widget) throw new Error(`${node.type} has no widget ${name}`)
    widget.value = value
    widget.callback?.(value, app.canvas, node)
  }
  const input = (node, name) => {
    const index = node.inputs.findIndex((slot) => slot.name === name)
    if (index < 0) throw new Error(`${node.type} has no input ${name}`)
    return index
  }
  const output = (node, type) => {
    if (typeof type === 'number') return type
    const index = node.outputs.findIndex((slot) => slot.type === type)
    if (index < 0) throw new Error(`${node.type} has no ${type} output`)
    return index
  }
  const link = (from, type, to, name) => {
    if (!from.connect(output(from, type), to, input(to, name)))
      throw new Error(`cannot link ${from.type}.${type} -> ${to.type}.${name}`)
  }
  const rerouteLink = (from, type, reroute, to, name) => {
    if (!from.connect(output(from, type), reroute, 0)) throw new Error(`cannot link ${from.type} -> Reroute`)
    if (!reroute.connect(0, to, input(to, name))) throw new Error(`cannot link Reroute -> ${to.type}.${name}`)
  }

  // --- root nodes
  const ckpt = add(root, 'CheckpointLoaderSimple', [0, 0], { ckpt_name: 'ltx-2-19b-distilled.safetensors' })
  const latent = add(root, 'EmptyLatentImage', [0, 300], { width: 512, height: 448, batch_size: 1 })
  const width = add(root, 'PrimitiveNode', [-350, 300], {}, { title: 'Width' })
  link(width, 0, latent, 'width') // a PrimitiveNode's output is typed once connected
  setWidget(width, 'width', 768)
  const mutedBatch = add(root, 'PrimitiveInt', [-350, 450], { value: 4 }, { mode: 2 })
  link(mutedBatch, 'INT', latent, 'batch_size')
  const negativeText = add(root, 'PrimitiveStringMultiline', [-350, 650], { value: 'blurry, low quality' },
    { title: 'Negative text' })
  const seedSource = add(root, 'PrimitiveInt', [-350, 850], { value: 1 })

  // --- what becomes the subgraphs
  const positive = add(root, 'CLIPTextEncode', [400, 0], { text: 'inner default text' }, { title: 'Positive' })
  const negative = add(root, 'CLIPTextEncode', [400, 250], { text: 'unused' }, { title: 'Negative' })
  const zeroOut = add(root, 'ConditioningZeroOut', [700, 250], {}, { mode: 4 })
  const sampler = add(root, 'KSampler', [1000, 0], {
    seed: 42, control_after_generate: 'randomize', steps: 12, cfg: 3.5,
    sampler_name: 'euler', scheduler: 'simple', denoise: 0.9,
  })
  const mutedSteps = add(root, 'PrimitiveInt', [700, 500], { value: 99 }, { mode: 2 })
  const modelReroute = add(root, 'Reroute', [700, -100])
  const innerNote = add(root, 'Note', [1000, 500], { text: 'inside the Sampling subgraph' })

  link(ckpt, 'CLIP', positive, 'clip')
  link(ckpt, 'CLIP', negative, 'clip')
  const positiveText = add(root, 'PrimitiveStringMultiline', [-350, 0], { value: 'placeholder' })
  link(positiveText, 'STRING', positive, 'text')
  link(negativeText, 'STRING', negative, 'text')
  link(negative, 'CONDITIONING', zeroOut, 'conditioning')
  link(positive, 'CONDITIONING', sampler, 'positive')
  link(zeroOut, 'CONDITIONING', sampler, 'negative')
  rerouteLink(ckpt, 'MODEL', modelReroute, sampler, 'model')
  link(seedSource, 'INT', sampler, 'seed')
  link(mutedSteps, 'INT', sampler, 'steps')
  link(latent, 'LATENT', sampler, 'latent_image')

  // --- root tail
  const refine = add(root, 'KSampler', [1400, 0], { seed: 7, steps: 3 }, { mode: 4, title: 'Refine (bypassed)' })
  const decode = add(root, 'VAEDecode', [1700, 0])
  const vaeReroute = add(root, 'Reroute', [1500, 300])
  const resize = add(root, 'ResizeImageMaskNode', [2000, 0], { resize_type: 'scale dimensions' })
  setWidget(resize, 'resize_type.width', 640)
  setWidget(resize, 'resize_type.height', 384)
  setWidget(resize, 'resize_type.crop', 'disabled')
  setWidget(resize, 'scale_method', 'lanczos')
  const mutedImage = add(root, 'EmptyImage', [2000, 400], { width: 64, height: 64 }, { mode: 2 })
  const stitch = add(root, 'ImageStitch', [2300, 0], { direction: 'right', spacing_width: 0 })
  const save = add(root, 'SaveImage', [2600, 0], { filename_prefix: 'mixed/frame' })
  add(root, 'Note', [0, 1100], { text: 'A plain note: UI only.' })
  add(root, 'MarkdownNote', [400, 1100], { text: '## Markdown note\nUI only.' })

  link(ckpt, 'MODEL', refine, 'model')
  link(sampler, 'LATENT', refine, 'latent_image')
  link(refine, 'LATENT', decode, 'samples')
  rerouteLink(ckpt, 'VAE', vaeReroute, decode, 'vae')
  link(decode, 'IMAGE', resize, 'input')
  link(resize, resize.outputs[0].type, stitch, 'image1')
  link(mutedImage, 'IMAGE', stitch, 'image2')
  link(stitch, 'IMAGE', save, 'images')

  // --- subgraphs: [Prompt] inside [Sampling]
  const prompt = root.convertToSubgraph(new Set([positive, negative, zeroOut]))
  prompt.subgraph.name = 'Prompt'
  const sampling = root.convertToSubgraph(new Set([prompt.node, sampler, mutedSteps, modelReroute, innerNote]))
  sampling.subgraph.name = 'Sampling'
  // the latent output of [Sampling] still goes to the bypassed refiner
  if (!refine.isInputConnected(input(refine, 'latent_image'))) throw new Error('refiner latent not linked')

  // leave the promoted inputs "text" (positive prompt) and "seed" unconnected, set on the instance
  const instance = sampling.node
  for (const name of ['text', 'seed']) {
    const index = input(instance, name)
    instance.disconnectInput(index)
  }
  root.remove(positiveText)
  root.remove(seedSource)
  const promoted = (name) => {
    const widget = (instance.widgets ?? []).find((w) => w.name === name)
    if (!widget) throw new Error(`no promoted widget ${name} on the Sampling instance`)
    return widget
  }
  promoted('text').value = 'A lighthouse on a cliff at dusk, waves below'
  promoted('seed').value = 123456789

  const exported = await app.graphToPrompt()
  return JSON.parse(JSON.stringify({ workflow: exported.workflow, output: exported.output }))
}
