"""Text-side transfer: a language model for the target language from a related high-resource model.

Source models of the families in `families` (GPT-2, Llama, Qwen2, XLM-R, RoBERTa, BERT). Train or extend a
tokenizer on target text (`tokenizer`), initialise the new vocabulary's embeddings
(`registry.make_initialiser`, `apply.transfer_model_embeddings`), continue pretraining on the common Trainer
(`pretrain.continue_lm_pretraining`; the recipe's steps in `recipe`), and rescore ASR n-best lists with the result
(`rescore`, also `fieldasr transcribe --rescore-lm`). Bilingual dictionaries are read in `dictionary`; a byte-level
model, with no tokenizer to transfer, is made in `byte_level`. Modules are imported on use: torch and gensim are heavy.
"""
