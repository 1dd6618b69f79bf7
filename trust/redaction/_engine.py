"""Presidio's analyzer and spaCy engine as redaction uses them: only installed models (Presidio
would download a missing one), only what NER needs of them, nothing fetched at run time
(tldextract held to its bundled snapshot), and Presidio's context step left out. Built on
first use, not at import, so that importing the API does not import spaCy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tessera.trust._errors import RedactionError

__all__ = ["analyzer", "offline_tldextract", "spacy_engine"]

# NER needs only these: the parser, lemmatizer and morphologizer cost time and find nothing.
_SPACY_EXCLUDE = ["parser", "lemmatizer", "morphologizer", "attribute_ruler", "senter"]


def offline_tldextract() -> None:
    """Presidio's e-mail check calls tldextract, whose default would fetch the public suffix
    list: use the snapshot bundled in the package, and no cache on disk."""
    import tldextract.tldextract as tld

    tld.TLD_EXTRACTOR = tld.TLDExtract(
        cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True
    )


def spacy_engine(models: list[dict[str, str]], config: object) -> object:
    """Presidio's spaCy engine, loading only installed models and only the components NER
    needs; "blank" is a language's tokenizer alone (English has no model here)."""
    import spacy
    from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

    class InstalledSpacy(SpacyNlpEngine):
        def load(self) -> None:
            self.nlp = {}
            for model in self.models:
                name = model["model_name"]
                if name == "blank":
                    self.nlp[model["lang_code"]] = spacy.blank(model["lang_code"])
                elif not spacy.util.is_package(name):
                    raise RedactionError(f"the spaCy model {name} is not installed: pip install it")
                else:
                    self.nlp[model["lang_code"]] = _for_names(
                        spacy.load(name, exclude=_SPACY_EXCLUDE)
                    )

        def artifacts(
            self, texts: list[str], language: str, batch_size: int, modelled: list[bool]
        ) -> Iterator[object]:
            """`process_batch` for what we read of it: the model's names. Only the texts
            `modelled` are read by the model, and only when the language has one; the others
            are not even tokenized, as no recognizer of ours reads tokens (a fifth of an
            English utterance's time, measured)."""
            nlp = self.nlp[language]
            if not nlp.pipe_names:
                modelled = [False] * len(texts)
            chosen = [t for t, m in zip(texts, modelled, strict=True) if m]
            read = iter(nlp.pipe(chosen, batch_size=batch_size))
            for model in modelled:
                yield self._names_of(next(read), language) if model else _NOTHING_READ

        def _names_of(self, doc: Any, language: str) -> NlpArtifacts:
            """The doc's entities for Presidio's spaCy recognizer; no lemmas nor keywords:
            only the context step read them, and it is left out (`_Analyzer`)."""
            entities, scores = self._get_updated_entities(
                self._get_entities(doc), self._get_scores_for_entities(doc)
            )
            return NlpArtifacts(entities, doc, [], [], None, language, scores)

    _NOTHING_READ = NlpArtifacts([], None, [], [], None, "", [])  # type: ignore[arg-type]

    engine = InstalledSpacy(models=models, ner_model_configuration=config)
    engine.load()
    return engine


def _for_names(nlp: Any) -> Any:
    """The pipeline without its shared `tok2vec` when no component left listens to it: the
    small French model's NER embeds the words itself, and the shared layer fed only the
    tagger and parser we leave out (a third of the model's time)."""
    if "tok2vec" in nlp.pipe_names and not nlp.get_pipe("tok2vec").listening_components:
        nlp.remove_pipe("tok2vec")
    return nlp


def analyzer(registry: object, engine: object, languages: list[str]) -> object:
    """Presidio's analyzer without its context step: each of our recognizers that needs
    naming words looks for them itself and finds nothing without them, and none implements
    a recognizer-level enhancement, so the step changed no finding; it cost a tenth of an
    utterance's time in copies of results, even when there were none."""
    from presidio_analyzer import AnalyzerEngine

    class ContextDecided(AnalyzerEngine):
        def _enhance_using_context(  # type: ignore[no-untyped-def]
            self, text, raw_results, nlp_artifacts, recognizers, context=None
        ):
            return raw_results

    return ContextDecided(registry=registry, nlp_engine=engine, supported_languages=languages)
