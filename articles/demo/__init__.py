"""Demo content: the seed page of a French news aggregator, loaded as sources,
articles and generated images.

The seed (demo_data/page.txt) is a text dump of one aggregator page: a ticker of
headlines on its first line, then one full article. Parsing (`seed`) and planning
(`plan`) are pure functions, `drawing` makes the images; only `loading.load_demo`
touches the database and the media storage.
"""

from articles.demo.drawing import draw_image
from articles.demo.loading import DemoSummary, load_demo
from articles.demo.plan import MAIN_ARTICLE_IMAGES, ArticleSpec, ImageSpec, SourceSpec, plan_demo
from articles.demo.seed import (
    Seed,
    SeedArticle,
    SeedFormatError,
    is_subheading,
    parse_seed,
    read_seed,
)

__all__ = [
    "MAIN_ARTICLE_IMAGES",
    "ArticleSpec",
    "DemoSummary",
    "ImageSpec",
    "Seed",
    "SeedArticle",
    "SeedFormatError",
    "SourceSpec",
    "draw_image",
    "is_subheading",
    "load_demo",
    "parse_seed",
    "plan_demo",
    "read_seed",
]
