"""Write paths for articles' content."""

import uuid
from functools import partial

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max

from articles.models import Article, Image
from articles.validators import ValidatedImage
from newsroom.publishing import enqueue


def _enqueue_processing(image_id: int) -> None:
    # Imported here: the tasks module imports processing, which imports models.
    from articles import tasks

    # The upload is saved and answered all the same.
    enqueue(
        task=tasks.process_image,
        argument=image_id,
        if_lost="the image stays pending until process_image runs for it again",
    )


def image_create(
    *,
    article: Article,
    upload: ValidatedImage,
    caption: str = "",
    credit: str = "",
    position: int | None = None,
) -> Image:
    """Store a validated upload as a pending image of `article`, and have it processed.

    The original is stored under a random name with the extension of the format
    Pillow found, never the name the client sent. If the row cannot be written
    (the position is taken), the file is deleted again: nothing stays half-stored.
    Raises ValidationError({"position": ...}) for a taken position, or when none is given
    and the article's last image holds Image.POSITION_MAX.
    """
    image = Image(
        article=article,
        caption=caption,
        credit=credit,
        status=Image.Status.PENDING,
        width=upload.width,
        height=upload.height,
        format=upload.format,
        byte_size=upload.byte_size,
        sha256=upload.sha256,
    )
    image.original.save(
        f"{uuid.uuid4().hex}.{upload.extension}", ContentFile(upload.data), save=False
    )
    try:
        with transaction.atomic():
            # The article's row serialises concurrent uploads choosing "the next position".
            Article.objects.select_for_update().filter(pk=article.pk).first()
            if position is None:
                last = Image.objects.filter(article=article).aggregate(last=Max("position"))["last"]
                position = 0 if last is None else last + 1
                if position > Image.POSITION_MAX:
                    raise ValidationError(
                        {"position": f"No position is left after {last} in this article."}
                    )
            image.position = position
            image.save()
            transaction.on_commit(partial(_enqueue_processing, image.pk))
    except IntegrityError:
        image.original.delete(save=False)
        raise ValidationError(
            {"position": f"Position {position} is already taken in this article."}
        ) from None
    except BaseException:
        image.original.delete(save=False)
        raise
    return image
