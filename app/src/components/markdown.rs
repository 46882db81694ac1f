//! A text panel's Markdown as elements: every piece of text is a text node, and links open
//! only web addresses (`crate::markdown::safe_href`), so nothing in a note runs.

use leptos::prelude::*;

use crate::markdown::{parse, safe_href, Block, Inline};

#[component]
pub fn MarkdownView(#[prop(into)] text: Signal<String>) -> impl IntoView {
    view! {
        <div class="markdown">
            {move || text.with(|t| parse(t)).into_iter().map(block).collect_view()}
        </div>
    }
}

fn block(block: Block) -> AnyView {
    match block {
        Block::Heading(level, spans) => {
            let spans = spans.into_iter().map(span).collect_view();
            match level {
                1 => view! { <h2>{spans}</h2> }.into_any(),
                2 => view! { <h3>{spans}</h3> }.into_any(),
                3 => view! { <h4>{spans}</h4> }.into_any(),
                _ => view! { <h5>{spans}</h5> }.into_any(),
            }
        }
        Block::Paragraph(spans) => {
            view! { <p>{spans.into_iter().map(span).collect_view()}</p> }.into_any()
        }
        Block::List(numbered, items) => {
            let items = items
                .into_iter()
                .map(|spans| view! { <li>{spans.into_iter().map(span).collect_view()}</li> })
                .collect_view();
            if numbered {
                view! { <ol>{items}</ol> }.into_any()
            } else {
                view! { <ul>{items}</ul> }.into_any()
            }
        }
        Block::Code(code) => view! { <pre><code>{code}</code></pre> }.into_any(),
        Block::Rule => view! { <hr/> }.into_any(),
    }
}

fn span(span: Inline) -> AnyView {
    match span {
        Inline::Text(text) => text.into_any(),
        Inline::Strong(text) => view! { <strong>{text}</strong> }.into_any(),
        Inline::Emphasis(text) => view! { <em>{text}</em> }.into_any(),
        Inline::Code(text) => view! { <code>{text}</code> }.into_any(),
        Inline::Link(label, href) => match safe_href(&href) {
            Some(href) => {
                let external = !href.starts_with('/');
                view! {
                    <a href=href.to_owned() target=external.then_some("_blank") rel=external.then_some("noopener noreferrer")>{label}</a>
                }
                .into_any()
            }
            None => label.into_any(),
        },
    }
}
