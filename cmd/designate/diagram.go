package main

import "designate/engine"

// lifecycleDiagram is the README's "Lifecycle" section body: both state
// machines as Mermaid, drawn from the engine's tables.
func lifecycleDiagram() string {
	return "### A dossier\n\n```mermaid\n" + engine.LifecycleMermaid() + "```\n\n" +
		"### A call\n\n```mermaid\n" + engine.CallLifecycleMermaid() + "```\n"
}
